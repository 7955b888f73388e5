"""Serving the document and the /docs page: on in development, off in testing and
production until the app asks; the page's assets come from the app itself under a strict
CSP; `kettle openapi` writes the document."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate

from kettle import App, Group, Settings
from kettle.cli import main
from kettle.exceptions import ConfigurationError
from kettle.openapi import OpenAPI, openapi_of
from kettle.testing import TestClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "openapi-test-secret-key-0123456789abcdef0123456789"


def app_in(env: str, tmp_path: Path) -> App:
    settings = Settings.load(env=env, secret_key=SECRET, allowed_hosts=["testserver"])
    app = App(settings=settings, root=tmp_path)

    @app.get("/items/<int:id>")
    def item(id: int, q: str = "") -> dict[str, Any]:
        return {"id": id}

    return app


def test_served_in_development_without_a_line_of_code(tmp_path: Path) -> None:
    with TestClient(app_in("development", tmp_path)) as client:
        served = client.get("/openapi.json")
        page = client.get("/docs")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/json"
    doc = served.json()
    validate(doc)
    assert list(doc["paths"]) == ["/items/{id}"]  # not /openapi.json nor /docs themselves
    assert page.status_code == 200


@pytest.mark.parametrize("env", ["testing", "production"])
def test_off_elsewhere_until_the_app_turns_it_on(env: str, tmp_path: Path) -> None:
    with TestClient(app_in(env, tmp_path)) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
    app = app_in(env, tmp_path)
    OpenAPI(app, title="Items", version="3.0.0", serve=True)
    with TestClient(app) as client:
        served = client.get("/openapi.json")
        assert client.get("/docs").status_code == 200
    assert served.json()["info"] == {"title": "Items", "version": "3.0.0"}


def test_serve_false_keeps_it_off_in_development_but_the_document_is_there(
    tmp_path: Path,
) -> None:
    app = app_in("development", tmp_path)
    OpenAPI(app, serve=False)
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
    assert "/items/{id}" in openapi_of(app).document()["paths"]


def test_urls_of_ones_own_and_the_document_made_once(tmp_path: Path) -> None:
    app = app_in("production", tmp_path)
    OpenAPI(app, json_url="/api/schema.json", docs_url="/api/docs", serve=True)
    with TestClient(app) as client:
        first = client.get("/api/schema.json")
        page = client.get("/api/docs")
        assert client.get("/openapi.json").status_code == 404
        assert first.content == client.get("/api/schema.json").content
    assert 'data-url="/api/schema.json"' in page.text
    assert openapi_of(app).document() is openapi_of(app).document()


def test_the_docs_page_loads_everything_from_the_app_under_a_strict_csp(tmp_path: Path) -> None:
    app = app_in("development", tmp_path)
    with TestClient(app) as client:
        page = client.get("/docs")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        # No inline script or style: every script has a src, every stylesheet an href.
        assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
        assert "<style" not in page.text
        assert "style=" not in page.text
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls, page.text
        for url in urls:
            assert url.startswith("/docs/"), url  # nothing from another host
            asset = client.get(url)
            assert asset.status_code == 200, url
        script = client.get("/docs/kettle/docs.js").text
        assert "validatorUrl: null" in script
        assert "X-CSRF-Token" in script
    assert re.search(r'data-csrf="[^"]{20,}"', page.text)


def test_a_route_of_the_app_wins_over_developments_default(tmp_path: Path) -> None:
    app = app_in("development", tmp_path)

    @app.get("/docs")
    def docs() -> str:
        return "our own docs"

    with TestClient(app) as client:
        assert client.get("/docs").text == "our own docs"
        assert client.get("/openapi.json").status_code == 200


def test_a_clash_the_app_asked_for_is_a_configuration_error(tmp_path: Path) -> None:
    app = app_in("production", tmp_path)
    OpenAPI(app, serve=True)
    site = Group("site", prefix="/openapi.json")

    @site.get("")
    def clash() -> str:
        return ""

    app.include(site)
    with pytest.raises(ConfigurationError, match=r"OpenAPI\(json_url='/openapi.json'\)"):
        app.build()


@pytest.mark.parametrize("url", ["docs", "/docs/"])
def test_a_bad_url_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must start with '/' and not end with one"):
        OpenAPI(app_in("development", tmp_path), docs_url=url)


# --- kettle openapi -------------------------------------------------------------------


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("hello.py", "weather.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KETTLE_ENV", raising=False)
    return tmp_path


def test_kettle_openapi_prints_the_document(examples: Path) -> None:
    result = CliRunner().invoke(main, ["openapi", "weather.py"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    validate(doc)
    assert doc["paths"]["/weather/{city}"]["get"]["operationId"] == "weather"


@pytest.mark.parametrize("name", ["openapi.json", "openapi.yaml"])
def test_kettle_openapi_writes_a_file(examples: Path, name: str) -> None:
    import yaml

    result = CliRunner().invoke(main, ["openapi", "hello.py", "-o", name])
    assert result.exit_code == 0, result.output
    assert f"to {name}" in result.stderr
    text = (examples / name).read_text()
    doc = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    validate(doc)
    assert list(doc["paths"]) == ["/"]


def test_serving_asked_for_after_start_up_is_refused(tmp_path: Path) -> None:
    app = app_in("production", tmp_path)
    app.build()
    with pytest.raises(ConfigurationError, match="comes after the app started"):
        OpenAPI(app, serve=True)
    assert OpenAPI(app).document()["paths"]  # the document alone is fine
