"""Server-side sessions on Redis (``AuthOptions(session_store="redis")``): the behaviours
of the database store (logout, fixation, sign out everywhere, password change) plus idle
and absolute expiry, against this machine's Redis."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from authsite import PASSWORD, Site, csrf_from, make_site

from kettle import Request
from kettle.auth import User, get_user
from kettle.auth.redis_sessions import DETAIL, RedisSessionBackend
from kettle.testing import TestClient

REDIS_URL = "redis://127.0.0.1:6379/0"
NEW_PASSWORD = "kettles-whistle-at-dawn"


def backend_for(site: Site, **options: int) -> RedisSessionBackend:
    """A Redis store under a prefix of this test's own (user ids repeat between tests)."""
    backend = RedisSessionBackend(REDIS_URL, prefix="kettle-test-" + uuid.uuid4().hex, **options)
    site.app.session_backend = backend
    site.app.on_shutdown(backend.aclose)
    return backend


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'auth.sqlite3'}", session_store="redis")
    site.db.create_all()
    assert isinstance(site.app.session_backend.store, RedisSessionBackend)
    backend = backend_for(site)

    @site.app.get("/me")
    def me(request: Request) -> dict[str, object]:
        user = get_user(request)
        return {"user": user.username, "authenticated": user.is_authenticated}

    site.user("ann")
    yield site
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=backend.prefix + ":*"))
    if keys:
        redis.Redis.from_url(REDIS_URL).delete(*keys)
    site.db.dispose()


def me(client: TestClient) -> dict[str, object]:
    result: dict[str, object] = client.get("/me").json()
    return result


def post_form(client: TestClient, url: str, page: str = "/auth/password", **values: str) -> object:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**values, "csrf_token": token})


def stored_keys(site: Site) -> list[str]:
    backend = site.app.session_backend
    assert isinstance(backend, RedisSessionBackend)
    found = redis.Redis.from_url(REDIS_URL).scan_iter(match=backend.prefix + ":s:*")
    return sorted(k.decode().rsplit(":", 1)[1] for k in found)


def digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@contextlib.contextmanager
def signed_in_client(site: Site, **options: bool) -> Iterator[TestClient]:
    with TestClient(site.app, **options) as client:
        site.login(client)
        yield client


def test_a_cookie_replayed_after_logout_is_anonymous(web: Site) -> None:
    with signed_in_client(web) as client:
        saved = client.cookies["session"]
        assert stored_keys(web) == [digest(saved)]  # a hash, never the cookie itself
        assert post_form(client, "/auth/logout").status_code == 303  # type: ignore[attr-defined]
        client.cookies.set("session", saved)
        assert me(client)["authenticated"] is False
    assert stored_keys(web) == []


def test_login_issues_a_new_id_and_drops_the_old_one(web: Site) -> None:
    with TestClient(web.app) as client:
        client.get("/auth/login")
        before = client.cookies["session"]
        web.login(client)
        after = client.cookies["session"]
        assert after != before
        assert stored_keys(web) == [digest(after)]
        client.cookies.set("session", before)
        assert me(client)["authenticated"] is False


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        assert post_form(laptop, "/auth/logout-everywhere").status_code == 303  # type: ignore[attr-defined]
        assert me(laptop)["authenticated"] is True
        assert me(phone)["authenticated"] is False
        assert len(stored_keys(web)) == 1


def test_a_password_change_ends_the_other_sessions(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        phone_cookie = phone.cookies["session"]
        response = post_form(
            laptop,
            "/auth/password",
            old_password=PASSWORD,
            password1=NEW_PASSWORD,
            password2=NEW_PASSWORD,
        )
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert stored_keys(web) == [digest(laptop.cookies["session"])]
        phone.cookies.set("session", phone_cookie)
        assert me(phone)["authenticated"] is False
        assert me(laptop)["authenticated"] is True


def test_end_sessions_from_def_code(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        with web.db.session():
            ann = User.objects.get(username="ann")
            assert web.auth.end_sessions(ann) == 2
        assert me(phone)["authenticated"] is False
        assert me(laptop)["authenticated"] is False


def test_backend_round_trip_and_a_session_ended_during_a_request(web: Site) -> None:
    backend = web.app.session_backend
    assert isinstance(backend, RedisSessionBackend)

    async def run() -> None:
        token = await backend.save(None, {"cart": [1, 2]}, 60)
        assert await backend.load(token) == {"cart": [1, 2]}
        assert await backend.save(token, {"cart": [3]}, 60) == token
        assert await backend.load(token) == {"cart": [3]}
        assert await backend.load(token + "x") is None
        assert await backend.load("x" * 5000) is None
        await backend.delete(token)
        assert await backend.load(token) is None

        data = {"_auth_user_id": 7, "_auth_user_hash": "h", "cart": [1]}
        signed_in = await backend.save(None, data, 60)
        assert await backend.aend_user_sessions(7) == 1  # on another device
        revived = await backend.save(signed_in, {**data, "cart": [1, 2]}, 60)
        assert revived != signed_in
        assert await backend.load(signed_in) is None
        assert await backend.load(revived) == {"cart": [1, 2]}  # signed out, cart kept
        await backend.aclose()

    asyncio.run(run())


def test_idle_expiry_slides_without_a_write_per_request(web: Site) -> None:
    backend = backend_for(web, idle_seconds=2)
    client = redis.Redis.from_url(REDIS_URL)

    async def run() -> None:
        token = await backend.save(None, {"n": 1}, 60)
        key = f"{backend.prefix}:s:{digest(token)}"
        touched = client.hget(key, "t")
        assert 1500 < client.pttl(key) <= 2000  # the idle window, not the absolute one
        assert await backend.load(token) == {"n": 1}
        assert client.hget(key, "t") == touched  # a fresh read writes nothing
        await asyncio.sleep(0.6)  # past a quarter of the window
        assert await backend.load(token) == {"n": 1}
        assert client.hget(key, "t") != touched  # moved once
        assert client.pttl(key) > 1800
        await asyncio.sleep(1.5)
        assert await backend.load(token) == {"n": 1}  # 2.1 s since saved: kept alive
        await asyncio.sleep(2.2)
        assert await backend.load(token) is None  # idle past the window
        await backend.aclose()

    asyncio.run(run())


def test_absolute_expiry_is_never_extended(web: Site) -> None:
    backend = backend_for(web, idle_seconds=60, max_age=1)

    async def run() -> None:
        token = await backend.save(None, {"n": 1}, 3600)
        await asyncio.sleep(0.5)
        assert await backend.save(token, {"n": 2}, 3600) == token
        assert await backend.load(token) == {"n": 2}
        await asyncio.sleep(0.7)
        assert await backend.load(token) is None  # 1.2 s after it began
        await backend.aclose()

    asyncio.run(run())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_redis_answers_503(web: Site) -> None:
    web.app.session_backend = RedisSessionBackend(f"redis://127.0.0.1:{closed_port()}/0")
    with TestClient(web.app) as client:
        client.cookies.set("session", "a" * 43)
        started = time.monotonic()
        loading = client.get("/auth/login")
        assert loading.status_code == 503
        assert loading.json()["detail"] == DETAIL
        assert loading.headers["retry-after"] == "5"
        client.cookies.clear()
        saving = client.get("/auth/login")  # a new session for the form's CSRF secret
        assert saving.status_code == 503
        assert "set-cookie" not in saving.headers
        assert time.monotonic() - started < 10
