"""The news site's sessions: a logout ends them, error pages leave them alone, and the
pages of signed-in users are never stored by a cache. On SQLite, PostgreSQL and MariaDB,
with the development and the production settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from news.app import create_app
from news.roles import ensure_roles
from news.settings import NewsSettings
from newssite import FAST_HASHER, GENEROUS, Site

from htmlforms import csrf_from
from kettle.auth import AuthOptions
from kettle.auth.sessions import StoredSession
from kettle.mail import MemoryBackend
from kettle.testing import TestClient

ENVIRONMENTS = {
    "development": {"env": "development"},
    "production": {
        "env": "production",
        "secret_key": "a-long-secret-for-the-production-tests",
        "allowed_hosts": ["testserver"],
    },
}


@pytest.fixture(params=sorted(ENVIRONMENTS))
def any_env_site(request: pytest.FixtureRequest, db_url: str) -> Iterator[Site]:
    """The site on each engine, with the development and the production settings."""
    settings = NewsSettings.load(env_file=None, **{**GENEROUS, **ENVIRONMENTS[request.param]})
    app = create_app(
        settings,
        database_url=db_url,
        mail=MemoryBackend(),
        auth_options=AuthOptions(hasher=FAST_HASHER),
    )
    built = Site(app, app.state.db, MemoryBackend())
    built.db.drop_all()
    built.db.create_all()
    with built.db.session():
        ensure_roles()
    yield built
    built.close()


def signed_in(site: Site) -> TestClient:
    """A browser over HTTPS (production sends the cookie there only), signed in as ann."""
    site.user("ann")
    client = TestClient(site.app, base_url="https://testserver", headers={"accept": "text/html"})
    client.__enter__()
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "username": "ann",
            "password": "tea-at-altitude-1865",
            "csrf_token": csrf_from(page.text),
        },
        headers={"origin": "https://testserver"},
    )
    assert response.status_code == 303, response.text
    return client


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("GET", "/articles/999999", 404),
        ("GET", "/auth/logout", 405),
        ("GET", "/api/no-such-endpoint", 404),
    ],
)
def test_an_error_page_does_not_sign_the_user_out(
    any_env_site: Site, method: str, path: str, status: int
) -> None:
    client = signed_in(any_env_site)
    cookie = client.cookies["session"]

    response = client.request(method, path)

    assert response.status_code == status
    assert "set-cookie" not in response.headers
    assert client.cookies["session"] == cookie
    assert client.get("/auth/password").status_code == 200
    client.__exit__(None, None, None)


def test_a_cookie_replayed_after_logout_is_anonymous(site: Site) -> None:
    client = signed_in(site)
    saved = client.cookies["session"]
    token = csrf_from(client.get("/auth/password").text)
    response = client.post(
        "/auth/logout", data={"csrf_token": token}, headers={"origin": "https://testserver"}
    )
    assert response.status_code == 303

    client.cookies.set("session", saved)
    assert client.get("/auth/password").status_code != 200
    assert "Sign in" in client.get("/").text
    client.__exit__(None, None, None)


def test_pages_of_signed_in_users_are_never_stored(site: Site) -> None:
    with TestClient(site.app) as anonymous:
        assert "cache-control" not in anonymous.get("/").headers
        assert "cache-control" not in anonymous.get("/api/articles").headers
    client = signed_in(site)
    for path in ("/", "/new", "/users/ann", "/auth/password", "/admin/"):
        response = client.get(path)
        assert response.headers.get("cache-control") == "private, no-store", path
    client.__exit__(None, None, None)


def test_anonymous_views_of_the_front_page_write_no_session_row(site: Site) -> None:
    site.article(site.user("bob"))
    for _ in range(5):  # a benchmark, or curl in a loop: a new visitor each time
        with TestClient(site.app) as visitor:
            page = visitor.get("/")
            assert page.status_code == 200
            assert "session" not in visitor.cookies  # no form on it (see test_site_cache.py)
            login = visitor.get("/auth/login")
            assert csrf_from(login.text)  # a page with a form: its CSRF secret in a cookie
            assert visitor.cookies["session"].startswith("anon.")
    with site.db.session():
        assert StoredSession.objects.count() == 0
    client = signed_in(site)
    with site.db.session():
        assert StoredSession.objects.count() == 1
    client.__exit__(None, None, None)
