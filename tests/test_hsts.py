"""Strict-Transport-Security: on HTTPS responses only, a year by default in production."""

from __future__ import annotations

from typing import Any

import pytest

from kettle import App, Settings
from kettle.exceptions import ConfigurationError
from kettle.staticfiles import StaticFiles
from kettle.testing import TestClient


def hsts_of(https: bool, **settings: Any) -> str | None:
    values = {"env": "testing", "env_file": None, "trusted_proxies": ["127.0.0.1"], **settings}
    app = App(settings=Settings.load(**values))

    @app.get("/")
    def home() -> str:
        return "hi"

    headers = {"x-forwarded-proto": "https"} if https else {}
    with TestClient(app) as client:
        value: str | None = client.get("/", headers=headers).headers.get(
            "strict-transport-security"
        )
    return value


def test_production_sends_a_year_over_https_only() -> None:
    production = {"env": "production", "secret_key": "k" * 50, "allowed_hosts": ["testserver"]}
    assert hsts_of(True, **production) == "max-age=31536000"
    assert hsts_of(False, **production) is None


def test_off_outside_production_unless_asked() -> None:
    assert hsts_of(True) is None
    assert hsts_of(True, hsts_seconds=600) == "max-age=600"
    assert hsts_of(False, hsts_seconds=600) is None


def test_subdomains_and_preload() -> None:
    got = hsts_of(True, hsts_seconds=63072000, hsts_include_subdomains=True, hsts_preload=True)
    assert got == "max-age=63072000; includeSubDomains; preload"


def test_zero_or_no_security_headers_turn_it_off() -> None:
    production = {"env": "production", "secret_key": "k" * 50, "allowed_hosts": ["testserver"]}
    assert hsts_of(True, hsts_seconds=0, **production) is None
    assert hsts_of(True, security_headers=False, **production) is None


def test_static_files_over_https_get_it_too(tmp_path: Any) -> None:
    (tmp_path / "site.css").write_text("body {}")
    settings = Settings.load(
        env="testing", env_file=None, trusted_proxies=["127.0.0.1"], hsts_seconds=600
    )
    app = App(settings=settings)
    app.mount("/static", StaticFiles(tmp_path))
    with TestClient(app) as client:
        got = client.get("/static/site.css", headers={"x-forwarded-proto": "https"})
    assert got.status_code == 200
    assert got.headers["strict-transport-security"] == "max-age=600"


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"hsts_seconds": -1}, "cannot be negative"),
        ({"hsts_seconds": 600, "hsts_preload": True}, "hsts_include_subdomains"),
    ],
)
def test_settings_that_cannot_work_stop_start_up(settings: dict[str, Any], words: str) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None, **settings))
    with pytest.raises(ConfigurationError, match=words):
        app.build()
