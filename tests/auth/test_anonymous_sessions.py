"""Anonymous sessions live in signed cookies; only signed-in ones get a row.

An anonymous page view that needs a CSRF secret writes nothing on the server; a sign-in
moves the session to the ``auth_session`` table under a new id. Every test that uses
``web`` runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import asyncio

import pytest
from authsite import PASSWORD, Site, csrf_from

from kettle import Request
from kettle.auth import User, get_user
from kettle.auth._anonymous_sessions import COOKIE_PREFIX, AnonymousInCookie
from kettle.auth.sessions import DatabaseSessionBackend, StoredSession
from kettle.csrf import get_token
from kettle.sessions import SignedCookieBackend, flash, get_flashed_messages
from kettle.testing import TestClient


@pytest.fixture
def web(site: Site) -> Site:
    app = site.app

    @app.get("/me")
    def me(request: Request) -> dict[str, object]:
        return {"authenticated": get_user(request).is_authenticated}

    @app.get("/vote")
    def vote_form(request: Request) -> str:
        return f'<form method="post"><input name="csrf_token" value="{get_token(request)}">'

    @app.post("/vote")
    def vote(request: Request) -> dict[str, bool]:
        return {"counted": True}

    @app.get("/flash")
    def flash_it(request: Request) -> str:
        flash(request, "Read the house rules first.")
        return "ok"

    @app.get("/messages")
    def messages(request: Request) -> list[str]:
        return get_flashed_messages(request)

    @app.post("/bye")
    def bye(request: Request) -> str:
        site.auth.logout(request)
        flash(request, "Signed out.")
        return "ok"

    site.user("ann")
    return site


def rows(site: Site) -> list[StoredSession]:
    with site.db.session():
        return list(StoredSession.objects.all())


def authenticated(client: TestClient) -> bool:
    return bool(client.get("/me").json()["authenticated"])


def db_store(site: Site) -> DatabaseSessionBackend:
    backend = site.app.session_backend
    assert isinstance(backend, AnonymousInCookie)
    assert isinstance(backend.store, DatabaseSessionBackend)
    return backend.store


# --- anonymous visitors ---------------------------------------------------------------------
def test_anonymous_page_views_with_a_form_write_no_row(web: Site) -> None:
    for _ in range(5):  # curl: a new visitor every time
        with TestClient(web.app) as visitor:
            assert visitor.get("/vote").status_code == 200
            assert visitor.cookies["session"].startswith(COOKIE_PREFIX)
    with TestClient(web.app, enforce_csrf=True) as client:
        for _ in range(3):
            page = client.get("/auth/login")
        assert rows(web) == []

        voted = client.post("/vote", data={"csrf_token": csrf_from(page.text)})
        assert voted.status_code == 200, voted.text
        assert voted.json() == {"counted": True}
        assert client.post("/vote", data={"csrf_token": "x" * 86}).status_code == 403
    assert rows(web) == []


def test_a_forged_cookie_is_no_session(web: Site) -> None:
    with TestClient(web.app, enforce_csrf=True) as client:
        page = client.get("/vote")
        cookie = client.cookies["session"]
        head, _, signature = cookie.rpartition(".")
        client.cookies.set("session", head + "." + signature[::-1])  # a bad signature
        refused = client.post("/vote", data={"csrf_token": csrf_from(page.text)})
        assert refused.status_code == 403
        assert "CSRF" in refused.text

        # Signed with another key, or carrying a user: still no session.
        ann = {"_auth_user_id": 1, "_auth_user_hash": "h"}
        for key in ("another-key", web.app.settings.secret_key):
            signed = asyncio.run(SignedCookieBackend(key).save(None, ann, 60))
            client.cookies.set("session", COOKIE_PREFIX + signed)
            assert authenticated(client) is False
        client.cookies.set("session", COOKIE_PREFIX + "garbage")
        assert authenticated(client) is False
    assert rows(web) == []


# --- signing in and out ---------------------------------------------------------------------
def test_sign_in_moves_the_session_to_one_new_row(web: Site) -> None:
    with TestClient(web.app) as client:
        page = client.get("/auth/login")  # a CSRF secret in the cookie
        client.get("/flash")  # and a flash next to it
        before = client.cookies["session"]
        assert before.startswith(COOKIE_PREFIX)
        assert rows(web) == []

        form = {"username": "ann", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        assert client.post("/auth/login", data=form).status_code == 303
        after = client.cookies["session"]
        assert not after.startswith(COOKIE_PREFIX)
        assert after != before
        (row,) = rows(web)
        assert row.user_id is not None
        assert row.data["_csrf"] != asyncio.run(anonymous_data(web, before))["_csrf"]
        assert client.get("/messages").json() == ["Read the house rules first."]
        assert authenticated(client) is True

        client.cookies.clear()
        client.cookies.set("session", before)  # the pre-login cookie signs nobody in
        assert authenticated(client) is False


async def anonymous_data(site: Site, cookie: str) -> dict[str, object]:
    backend = site.app.session_backend
    assert backend is not None
    data = await backend.load(cookie)
    assert data is not None
    return data


def test_logout_deletes_the_row_and_keeps_later_data_in_a_cookie(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        signed_in = client.cookies["session"]
        assert len(rows(web)) == 1

        assert client.post("/bye").status_code == 200
        assert rows(web) == []
        assert client.cookies["session"].startswith(COOKIE_PREFIX)
        assert client.get("/messages").json() == ["Signed out."]
        assert authenticated(client) is False

        client.cookies.clear()
        client.cookies.set("session", signed_in)
        assert authenticated(client) is False
    assert rows(web) == []


def test_sign_out_everywhere_still_ends_the_other_sessions(web: Site) -> None:
    with TestClient(web.app) as phone, TestClient(web.app) as laptop:
        web.login(phone)
        web.login(laptop)
        assert len(rows(web)) == 2
        page = laptop.get("/auth/password")
        ended = laptop.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(page.text)})
        assert ended.status_code == 303
        assert authenticated(laptop) is True
        assert authenticated(phone) is False
        assert len(rows(web)) == 1


@pytest.mark.anyio
async def test_a_session_ended_during_a_request_goes_back_to_a_cookie(web: Site) -> None:
    backend = web.app.session_backend
    assert isinstance(backend, AnonymousInCookie)
    async with web.db.async_session():
        ann = (await User.objects.aget(username="ann")).id
    data = {"_auth_user_id": ann, "_auth_user_hash": "h", "cart": [1]}
    token = await backend.save(None, data, 60)
    assert not token.startswith(COOKIE_PREFIX)
    async with web.db.async_session():  # "sign out everywhere", on another device
        assert await backend.aend_user_sessions(ann) == 1

    kept = await backend.save(token, {**data, "cart": [1, 2]}, 60)

    assert kept.startswith(COOKIE_PREFIX)
    assert await backend.load(kept) == {"cart": [1, 2]}  # signed out, cart kept
    assert await backend.load(token) is None
    async with web.db.async_session():
        assert await StoredSession.objects.acount() == 0
    await web.db.adispose()  # this test's loop ends here


# --- rows from before the change -------------------------------------------------------------
def test_an_anonymous_row_from_before_still_loads_then_leaves_the_table(web: Site) -> None:
    store = db_store(web)

    async def old_row() -> str:
        token = await store.save(
            None, {"_flashes": [["info", "Welcome back."]], "recent": [7]}, 3600
        )
        await web.db.adispose()  # this loop ends here
        return token

    token = asyncio.run(old_row())
    assert len(rows(web)) == 1
    with TestClient(web.app) as client:
        client.cookies.set("session", token)
        response = client.get("/messages")
        assert response.json() == ["Welcome back."]  # loaded, then changed
        assert response.cookies["session"].startswith(COOKIE_PREFIX)
    assert rows(web) == []
