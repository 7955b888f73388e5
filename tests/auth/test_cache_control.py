"""``Cache-Control: private, no-store`` on what a signed-in user or an API client gets.

Every test runs on SQLite, PostgreSQL and MariaDB (the user comes from the database).
"""

from __future__ import annotations

import pytest
from authsite import Site

from kettle import Request, Response
from kettle.auth import ApiToken, User, get_user
from kettle.testing import TestClient

PRIVATE = "private, no-store"


@pytest.fixture
def web(site: Site) -> Site:
    @site.app.get("/page")
    def page(request: Request) -> str:
        return f"<p>Hello {get_user(request).username or 'stranger'}</p>"

    @site.app.get("/strict")
    def strict(request: Request) -> Response:
        return Response(b"mine", headers={"cache-control": "no-store, max-age=0"})

    @site.app.get("/lax")
    def lax(request: Request) -> Response:
        return Response(b"cache me", headers={"cache-control": "public, max-age=600"})

    site.user("ann")
    return site


def test_pages_of_a_signed_in_user_are_private(web: Site) -> None:
    with TestClient(web.app) as client:
        assert "cache-control" not in client.get("/page").headers  # anonymous: cacheable
        assert client.get("/lax").headers["cache-control"] == "public, max-age=600"
        web.login(client)
        assert client.get("/page").headers["cache-control"] == PRIVATE
        assert client.get("/auth/password").headers["cache-control"] == PRIVATE
        assert client.get("/lax").headers["cache-control"] == PRIVATE  # no longer public
        assert client.get("/strict").headers["cache-control"] == "no-store, max-age=0"


def test_error_pages_of_a_signed_in_user_are_private(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        missing = client.get("/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["cache-control"] == PRIVATE
        refused = client.get("/auth/logout")
        assert refused.status_code == 405
        assert refused.headers["cache-control"] == PRIVATE


def test_answers_to_api_tokens_are_private(web: Site) -> None:
    with web.db.session():
        _token, raw = ApiToken.issue(User.objects.get(username="ann"), "script")
    with TestClient(web.app) as client:
        signed = client.get("/page", headers={"authorization": f"Bearer {raw}"})
        assert signed.text == "<p>Hello ann</p>"
        assert signed.headers["cache-control"] == PRIVATE
        refused = client.get("/page", headers={"authorization": "Bearer kt_unknown"})
        assert refused.status_code == 401
        assert refused.headers["cache-control"] == PRIVATE
