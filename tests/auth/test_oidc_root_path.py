"""Signing in through an OpenID provider under a root path and a language prefix: the
redirect URI keeps the server's root path and leaves the ``/fr`` out (one address to
register at the provider), and the trip back lands under the root path. On SQLite:
nothing here depends on the engine."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from oidcsite import consent, make_oidc_site, provider

from htmlforms import csrf_from
from kettle.auth.oidc.devprovider import OpenIDProvider
from kettle.i18n import I18n
from kettle.testing import TestClient

__all__ = ["provider"]  # the fixture, used by name


def test_the_redirect_uri_under_a_root_path_and_a_language(
    tmp_path: Path, provider: OpenIDProvider
) -> None:
    site = make_oidc_site(tmp_path, f"sqlite:///{tmp_path / 'oidc.sqlite3'}", provider)
    I18n(site.app, languages=["en", "fr"])
    try:
        with TestClient(site.app, root_path="/news") as client:
            login = client.get("/news/fr/auth/login")
            assert 'action="/news/fr/auth/oidc/acme/start"' in login.text
            started = client.post(
                "/news/fr/auth/oidc/acme/start",
                data={"csrf_token": csrf_from(login.text), "next": "/news/fr/whoami"},
            )
            assert started.status_code == 303, started.text
            params = parse_qs(urlsplit(started.headers["location"]).query)
            assert params["redirect_uri"] == ["http://testserver/news/auth/oidc/acme/callback"]
            back = client.get(consent(started.headers["location"]))
            assert back.status_code == 303, back.text
            assert back.headers["location"] == "/news/fr/whoami"
            assert client.get("/news/fr/whoami").json() == {"username": "ann"}
    finally:
        site.db.drop_all()
        site.db.dispose()
