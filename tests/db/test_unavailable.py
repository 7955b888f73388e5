"""A database outage costs 503s while it lasts and nothing after it: no restart of Kettle.

The servers are shared, so they are never stopped: a small TCP proxy in front of the real
server plays the outage. Stopping it refuses new connections and cuts the open ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from newsmodels import User

from kettle import App, Settings
from kettle.db import Database, DatabaseUnavailable, sync_session
from kettle.db._unavailable import DETAIL
from kettle.testing import TestClient
from tcpproxy import Proxy

#: Text that must never reach a client: drivers, error classes, where the server is.
LEAKS = ("psycopg", "asyncpg", "pymysql", "aiomysql", "sqlite", "Error", "127.0.0.1", "refused")


@pytest.fixture
def server_url(db: Database) -> str:
    if db.dialect == "sqlite":
        pytest.skip("SQLite has no server; see test_sqlite_file_out_of_reach")
    return db.url.render_as_string(hide_password=False)


@pytest.fixture
def proxy(server_url: str) -> Iterator[Proxy]:
    url = sa.make_url(server_url)
    running = Proxy(url.host or "127.0.0.1", url.port or 5432)
    running.start()
    yield running
    running.close()


def _app_behind(proxy: Proxy, server_url: str, tmp_path: Path, kind: str) -> App:
    """An app whose Database connects through ``proxy``; POST /users writes two users
    and, with ?cut=1, lets the proxy cut the connection between them."""
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    url = sa.make_url(server_url).set(host="127.0.0.1", port=proxy.port)
    Database(app, url=url.render_as_string(hide_password=False))

    if kind == "def":

        @app.post("/users/<name>")
        def create(name: str, cut: bool = False) -> dict[str, str]:
            User.objects.create(username=f"{name}-1")
            if cut:
                proxy.stop()
            User.objects.create(username=f"{name}-2")
            return {"created": name}

    else:

        @app.post("/users/<name>")
        async def acreate(name: str, cut: bool = False) -> dict[str, str]:
            await User.objects.acreate(username=f"{name}-1")
            if cut:
                proxy.stop()
            await User.objects.acreate(username=f"{name}-2")
            return {"created": name}

    return app


def _assert_generic_503(response: Any) -> None:
    assert response.status_code == 503
    assert response.json()["detail"] == DETAIL
    assert response.headers["retry-after"] == "5"
    assert not [leak for leak in LEAKS if leak in response.text]


@pytest.mark.parametrize("kind", ["def", "async"])
def test_outage_is_503_and_recovery_needs_no_restart(
    db: Database, proxy: Proxy, server_url: str, tmp_path: Path, kind: str
) -> None:
    app = _app_behind(proxy, server_url, tmp_path, kind)
    with TestClient(app) as client:
        assert client.post("/users/before").status_code == 200

        # The connection dies between the two writes: 503, and the first is not kept.
        _assert_generic_503(client.post("/users/cut", params={"cut": True}))
        # While the server stays out of reach, every request that needs it gets a 503.
        _assert_generic_503(client.post("/users/during"))

        proxy.start()  # same port: the app is not restarted or told anything
        assert client.post("/users/after").status_code == 200

    with db.session():
        names = set(User.objects.values_list("username", flat=True))
    assert names == {"before-1", "before-2", "after-1", "after-2"}


@pytest.mark.parametrize("kind", ["def", "async"])
def test_restart_between_requests_is_invisible(
    db: Database, proxy: Proxy, server_url: str, tmp_path: Path, kind: str
) -> None:
    """Pooled connections died in the restart; pre-ping replaces them before use."""
    app = _app_behind(proxy, server_url, tmp_path, kind)
    with TestClient(app) as client:
        assert client.post("/users/first").status_code == 200
        proxy.stop()
        proxy.start()
        assert client.post("/users/second").status_code == 200
    with db.session():
        assert User.objects.count() == 4


def test_outage_outside_requests_raises_database_unavailable(
    db: Database, proxy: Proxy, server_url: str
) -> None:
    url = sa.make_url(server_url).set(host="127.0.0.1", port=proxy.port)
    through_proxy = Database(url=url.render_as_string(hide_password=False))
    try:
        with through_proxy.session():
            assert User.objects.count() == 0
        proxy.stop()
        with pytest.raises(DatabaseUnavailable), through_proxy.session():
            User.objects.count()
        proxy.start()
        with through_proxy.session():
            assert User.objects.count() == 0
    finally:
        through_proxy.dispose()


@pytest.mark.parametrize("kind", ["def", "async"])
def test_sqlite_file_out_of_reach(tmp_path: Path, kind: str) -> None:
    """SQLite's "server" is a file: in a folder that is missing, it cannot be opened."""
    import newsmodels  # noqa: F401 - the tables

    folder = tmp_path / "data"
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=f"sqlite:///{folder / 'db.sqlite3'}")
    if kind == "def":

        @app.get("/count")
        def count() -> dict[str, int]:
            return {"users": User.objects.count()}

    else:

        @app.get("/count")
        async def acount() -> dict[str, int]:
            return {"users": await User.objects.acount()}

    with TestClient(app) as client:
        _assert_generic_503(client.get("/count"))
        folder.mkdir()
        db.create_all()
        assert client.get("/count").json() == {"users": 0}


def test_other_database_errors_stay_errors(db: Database, tmp_path: Path) -> None:
    """A missing table is a bug, not an outage: a 500, not a 503 (SQLite and MariaDB
    report it as an OperationalError, like a lost connection)."""
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    Database(app, url=db.url.render_as_string(hide_password=False))

    @app.get("/broken")
    def broken() -> None:
        sync_session().execute(sa.text("SELECT * FROM no_such_table"))

    with TestClient(app) as client:
        assert client.get("/broken").status_code == 500
    with pytest.raises(sa.exc.DBAPIError) as caught, db.session():
        sync_session().execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, DatabaseUnavailable)
