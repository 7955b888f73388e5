"""Server-side sessions, the default with kettle.auth: logout, revocation, expiry, purge.

Every test that uses ``web`` runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import PASSWORD, Site, csrf_from, make_site
from click.testing import CliRunner

from kettle import App, Request, Settings
from kettle.auth import Auth, User, get_user
from kettle.auth._anonymous_sessions import AnonymousInCookie
from kettle.auth.sessions import DatabaseSessionBackend, StoredSession
from kettle.cli import main
from kettle.db import Database, fields
from kettle.db._unavailable import DETAIL
from kettle.exceptions import ConfigurationError
from kettle.sessions import SignedCookieBackend
from kettle.testing import TestClient

NEW_PASSWORD = "kettles-whistle-at-dawn"


@pytest.fixture
def web(site: Site) -> Site:
    @site.app.get("/me")
    def me(request: Request) -> dict[str, object]:
        user = get_user(request)
        return {"user": user.username, "authenticated": user.is_authenticated}

    @site.app.post("/sync/logout-everywhere")
    def sync_everywhere(request: Request) -> dict[str, int]:
        return {"ended": site.auth.logout_everywhere(request)}

    site.user("ann")
    return site


def me(client: TestClient) -> dict[str, object]:
    result: dict[str, object] = client.get("/me").json()
    return result


def post_form(client: TestClient, url: str, page: str = "/auth/password", **values: str) -> object:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**values, "csrf_token": token})


def rows(site: Site) -> list[StoredSession]:
    with site.db.session():
        return list(StoredSession.objects.all())


def user_id(site: Site, username: str) -> int:
    with site.db.session():
        return User.objects.get(username=username).id


def db_store(site: Site) -> DatabaseSessionBackend:
    """The database store under the wrapper that keeps anonymous sessions in cookies."""
    backend = site.app.session_backend
    assert isinstance(backend, AnonymousInCookie)
    assert isinstance(backend.store, DatabaseSessionBackend)
    return backend.store


def digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@contextlib.contextmanager
def signed_in_client(site: Site, **options: bool) -> Iterator[TestClient]:
    with TestClient(site.app, **options) as client:
        site.login(client)
        yield client


# --- logout ends the session on the server -----------------------------------------------------
def test_a_cookie_replayed_after_logout_is_anonymous(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        saved = client.cookies["session"]
        assert client.get("/auth/password").status_code == 200

        response = post_form(client, "/auth/logout")
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert "session" not in client.cookies

        client.cookies.set("session", saved)
        assert client.get("/auth/password").status_code == 401
        assert me(client)["authenticated"] is False
    assert [row.user_id for row in rows(web)] == []


def test_the_table_keeps_a_hash_of_the_cookie_the_user_and_the_expiry(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        cookie = client.cookies["session"]
    (row,) = rows(web)
    assert row.key_hash == digest(cookie)
    assert cookie not in row.key_hash
    assert len(cookie) >= 40  # 256 random bits, url-safe
    assert row.user_id == user_id(web, "ann")
    assert row.data["_auth_user_id"] == row.user_id
    max_age = web.app.settings.session_max_age
    expected = fields.now() + dt.timedelta(seconds=max_age)
    assert abs((row.expires - expected).total_seconds()) < 60
    assert row.created <= fields.now()


def test_login_issues_a_new_id_and_drops_the_old_row(web: Site) -> None:
    with TestClient(web.app) as client:
        client.get("/auth/login")  # an anonymous session (in a cookie), for the CSRF secret
        before = client.cookies["session"]
        assert rows(web) == []

        web.login(client)
        after = client.cookies["session"]
        assert after != before
        assert [row.key_hash for row in rows(web)] == [digest(after)]

        client.cookies.set("session", before)  # the fixed id is worth nothing
        assert me(client)["authenticated"] is False


def test_expired_rows_are_ignored_and_purged(web: Site) -> None:
    with TestClient(web.app) as client:
        web.login(client)
        assert me(client)["authenticated"] is True
        with web.db.session():
            StoredSession.objects.update(expires=fields.now() - dt.timedelta(seconds=1))
        assert me(client)["authenticated"] is False
    backend = db_store(web)
    with web.db.session():
        StoredSession.objects.create(
            key_hash="f" * 64, data={}, expires=fields.now() + dt.timedelta(hours=1)
        )
    assert backend.purge_expired() == 1
    assert [row.key_hash for row in rows(web)] == ["f" * 64]


@pytest.mark.anyio
async def test_the_backend_round_trip_and_its_async_purge(web: Site) -> None:
    backend = db_store(web)
    token = await backend.save(None, {"cart": [1, 2]}, 60)
    assert await backend.load(token) == {"cart": [1, 2]}
    assert await backend.save(token, {"cart": [3]}, 60) == token
    assert await backend.load(token) == {"cart": [3]}
    assert await backend.load(token + "x") is None
    assert await backend.load("x" * 5000) is None  # an old signed cookie, say
    await backend.delete(token)
    assert await backend.load(token) is None
    assert await backend.apurge_expired() == 0
    await web.db.adispose()  # this test's loop ends here


@pytest.mark.anyio
async def test_a_session_ended_during_a_request_is_not_revived_by_its_save(web: Site) -> None:
    backend = db_store(web)
    ann = user_id(web, "ann")
    data = {"_auth_user_id": ann, "_auth_user_hash": "h", "cart": [1]}
    token = await backend.save(None, data, 60)
    async with web.db.async_session():  # "sign out everywhere", on another device
        assert await backend.aend_user_sessions(ann) == 1

    new_token = await backend.save(token, {**data, "cart": [1, 2]}, 60)

    assert new_token != token
    assert await backend.load(token) is None
    assert await backend.load(new_token) == {"cart": [1, 2]}  # signed out, cart kept
    await web.db.adispose()  # this test's loop ends here


# --- sign out everywhere, password change ------------------------------------------------------
def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        phone_cookie = phone.cookies["session"]
        page = laptop.get("/auth/password")
        assert 'action="/auth/logout-everywhere"' in page.text
        response = laptop.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(page.text)})
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/password"
        assert me(laptop)["authenticated"] is True
        assert "signed out on every other device" in laptop.get("/auth/password").text
        assert laptop.cookies["session"] != phone_cookie
        assert me(phone)["authenticated"] is False
        assert len(rows(web)) == 1


def test_sign_out_everywhere_needs_a_post_with_the_csrf_token(web: Site) -> None:
    with signed_in_client(web, enforce_csrf=True) as client:
        assert client.get("/auth/logout-everywhere").status_code == 405
        assert client.post("/auth/logout-everywhere").status_code == 403
        assert me(client)["authenticated"] is True
    with TestClient(web.app) as anonymous:
        assert post_form(anonymous, "/auth/logout-everywhere", "/auth/login").status_code == 401  # type: ignore[attr-defined]


def test_sign_out_everywhere_from_def_code(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        response = post_form(laptop, "/sync/logout-everywhere")
        assert response.json() == {"ended": 1}  # type: ignore[attr-defined]
        assert me(laptop)["authenticated"] is True
        assert me(phone)["authenticated"] is False


def test_a_password_change_deletes_the_other_rows(web: Site) -> None:
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
        assert [row.key_hash for row in rows(web)] == [digest(laptop.cookies["session"])]
        assert me(laptop)["authenticated"] is True
        phone.cookies.set("session", phone_cookie)
        assert me(phone)["authenticated"] is False


def test_end_sessions_signs_a_user_out_everywhere(web: Site) -> None:
    with signed_in_client(web) as phone, signed_in_client(web) as laptop:
        with web.db.session():
            ann = User.objects.get(username="ann")
            assert web.auth.end_sessions(ann) == 2
        assert me(phone)["authenticated"] is False
        assert me(laptop)["authenticated"] is False


# --- choosing the store ------------------------------------------------------------------------
def test_auth_installs_the_database_store_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    db_store(make_site(tmp_path, url))

    cookie = make_site(tmp_path, url, session_store="cookie").app
    cookie.build()
    assert isinstance(cookie.session_backend, SignedCookieBackend)

    own = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    chosen = SignedCookieBackend("another-key")
    own.session_backend = chosen
    Database(own, url=url)
    Auth(own)
    assert own.session_backend is chosen


def test_an_unknown_store_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"session_store='memcached'.*'database', 'redis' or 'cookie'"
    ):
        make_site(tmp_path, "sqlite://", session_store="memcached")


def test_sign_out_everywhere_with_the_cookie_store_says_what_to_do(tmp_path: Path) -> None:
    site = make_site(tmp_path, f"sqlite:///{tmp_path / 'a.sqlite3'}", session_store="cookie")
    site.db.create_all()
    site.user("ann")
    with signed_in_client(site) as client:
        page = client.get("/auth/password").text
        assert "logout-everywhere" not in page  # no button that cannot work
        assert post_form(client, "/auth/logout-everywhere").status_code == 404  # type: ignore[attr-defined]
    with site.db.session():
        ann = User.objects.get(username="ann")
        with pytest.raises(Exception, match="server-side session store"):
            site.auth.end_sessions(ann)
    site.db.dispose()


# --- an unreachable database -------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"])
def test_an_unreachable_session_store_answers_503(tmp_path: Path, engine: str) -> None:
    port = closed_port()
    url = {
        "sqlite": f"sqlite:///{tmp_path / 'missing-folder' / 'auth.sqlite3'}",
        "postgresql": f"postgresql://postgres@127.0.0.1:{port}/nothing",
        "mysql": f"mysql://root@127.0.0.1:{port}/nothing",
    }[engine]
    site = make_site(tmp_path, url, sync_permissions=False)
    with TestClient(site.app) as client:
        client.cookies.set("session", "a" * 43)
        loading = client.get("/auth/login")
        assert loading.status_code == 503
        assert loading.json()["detail"] == DETAIL
        client.cookies.clear()
        # An anonymous session (the form's CSRF secret) lives in a cookie: no database.
        anonymous = client.get("/auth/login")
        assert anonymous.status_code == 200
        assert client.cookies["session"].startswith("anon.")
    site.db.dispose()


# --- kettle clearsessions ----------------------------------------------------------------------
CLI_APP = """\
from kettle import App
from kettle.auth import Auth, AuthOptions
from kettle.db import Database

app = App()
db = Database(app, url={url!r})
auth = Auth(app, options=AuthOptions(session_store={store!r}))
"""


@pytest.mark.parametrize("store", ["database", "cookie", "redis"])
def test_clearsessions_deletes_the_expired_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app_file = tmp_path / f"clearsessions_{store}.py"
    app_file.write_text(CLI_APP.format(url=url, store=store), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    db = Database(url=url)
    db.create_all()
    now = fields.now()
    with db.session():
        for name, hours in (("a", -2), ("b", -1), ("c", 1)):
            expires = now + dt.timedelta(hours=hours)
            StoredSession.objects.create(key_hash=name * 64, data={}, expires=expires)

    result = CliRunner().invoke(main, ["clearsessions", "--app", str(app_file)])

    with db.session():
        left = sorted(row.key_hash[0] for row in StoredSession.objects.all())
    db.dispose()
    if store == "database":
        assert result.exit_code == 0, result.output
        assert result.output == "Deleted 2 expired session(s).\n"
        assert left == ["c"]
    elif store == "redis":  # Redis drops expired sessions itself; the rows are not its
        assert result.exit_code == 0, result.output
        assert "Redis, which drops each one as it expires" in result.output
        assert left == ["a", "b", "c"]
    else:
        assert result.exit_code == 1
        assert "SignedCookieBackend, not in the database" in result.output
        assert left == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("setting", "backend"),
    [
        (None, "DatabaseSessionBackend"),
        ("cookie", "SignedCookieBackend"),
        ("redis", "RedisSessionBackend"),
    ],
)
def test_the_session_store_setting_chooses_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None, backend: str
) -> None:
    if setting is not None:
        monkeypatch.setenv("KETTLE_SESSION_STORE", setting)
    app = App(root=tmp_path)
    Database(app, url=f"sqlite:///{tmp_path / 'store.sqlite3'}")
    Auth(app)
    installed = app.session_backend
    signed_in = getattr(installed, "store", installed)  # anonymous sessions stay in cookies
    # None: Auth installed nothing, so the app keeps its default, signed cookies.
    chosen = "SignedCookieBackend" if signed_in is None else type(signed_in).__name__
    assert chosen == backend
