"""Content-Security-Policy: strict by default on HTML, a nonce only when a page asks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kettle import App, HTMLResponse, Request, Response, Settings, render
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def make_app(tmp_path: Path, **settings: Any) -> App:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "inline.html").write_text(
        '<script nonce="{{ csp_nonce() }}">go()</script>'
        '<style nonce="{{ request.csp_nonce }}">p {}</style>'
    )
    (tmp_path / "templates" / "plain.html").write_text("<p>{{ 1 + 1 }}</p>")
    app = App(
        root=tmp_path,
        templates="templates",
        settings=Settings.load(env_file=None, environ={}, env="testing", **settings),
    )

    @app.get("/inline")
    def inline() -> object:
        return render("inline.html")

    @app.get("/plain")
    def plain() -> object:
        return render("plain.html")

    @app.get("/api")
    def api() -> dict[str, int]:
        return {"n": 1}

    @app.get("/by-hand")
    def by_hand(request: Request) -> HTMLResponse:
        return HTMLResponse(f'<script nonce="{request.csp_nonce}">go()</script>')

    @app.get("/own")
    def own() -> Response:
        return HTMLResponse("<p>mine</p>", headers={"content-security-policy": "default-src *"})

    return app


def test_a_page_without_inline_code_gets_the_strict_policy_and_no_nonce(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        page = client.get("/plain")
        missing = client.get("/nowhere", headers={"accept": "text/html"})
    assert page.headers["content-security-policy"] == STRICT
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert missing.status_code == 404
    nonce = re.findall(r'<style nonce="([^"]+)">', missing.text)[0]  # the error page's style
    assert f"style-src 'self' 'nonce-{nonce}'" in missing.headers["content-security-policy"]


def test_a_template_asking_for_the_nonce_gets_it_in_the_header(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        first = client.get("/inline")
        second = client.get("/inline")
    nonces = re.findall(r'nonce="([^"]+)"', first.text)
    assert len(nonces) == 2
    assert nonces[0] == nonces[1]  # one nonce per response, however often it is asked for
    assert len(nonces[0]) >= 22
    policy = first.headers["content-security-policy"]
    assert f"script-src 'self' 'nonce-{nonces[0]}'" in policy
    assert f"style-src 'self' 'nonce-{nonces[0]}'" in policy
    assert re.findall(r'nonce="([^"]+)"', second.text)[0] != nonces[0]


def test_request_csp_nonce_in_code(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        page = client.get("/by-hand")
    nonce = re.findall(r'nonce="([^"]+)"', page.text)[0]
    assert f"'nonce-{nonce}'" in page.headers["content-security-policy"]


def test_json_gets_no_policy_and_a_handlers_own_policy_wins(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        api = client.get("/api")
        own = client.get("/own")
    assert "content-security-policy" not in api.headers
    assert own.headers["content-security-policy"] == "default-src *"


def test_sources_report_only_and_report_uri(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        csp_script_src=["https://cdn.example.com"],
        csp_style_src=["https://fonts.example.com"],
        csp_img_src=["https:"],
        csp_connect_src=["wss://live.example.com"],
        csp_report_only=True,
        csp_report_uri="/csp-reports",
        frame_options="SAMEORIGIN",
    )
    with TestClient(app) as client:
        page = client.get("/plain")
    assert "content-security-policy" not in page.headers
    assert page.headers["content-security-policy-report-only"] == (
        "default-src 'self'; script-src 'self' https://cdn.example.com; "
        "style-src 'self' https://fonts.example.com; img-src 'self' data: https:; "
        "connect-src 'self' wss://live.example.com; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'self'; report-uri /csp-reports"
    )


def test_the_policy_can_be_turned_off(tmp_path: Path) -> None:
    for settings in ({"csp_enabled": False}, {"security_headers": False}):
        with TestClient(make_app(tmp_path, **settings)) as client:
            assert "content-security-policy" not in client.get("/inline").headers


@pytest.mark.parametrize("source", ["'unsafe-inline'", "a.example; script-src *", ""])
def test_a_source_that_would_break_the_policy_stops_start_up(tmp_path: Path, source: str) -> None:
    app = make_app(tmp_path, csp_script_src=[source])
    with pytest.raises(ConfigurationError, match="csp_script_src"):
        app.build()
