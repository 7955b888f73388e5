"""``Database``: where the URL comes from, the driver twins, SQLite's settings, pool sizes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from newsmodels import Article, Tag, User

from kettle import App, Settings
from kettle.db import Database
from kettle.db.database import split_url
from kettle.exceptions import ConfigurationError
from kettle.requests import Request
from kettle.testing import AsyncTestClient, TestClient


def _settings(**values: object) -> Settings:
    return Settings.load(env="testing", env_file=None, environ={}, **values)


# --- URLs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "sync", "async_"),
    [
        ("sqlite:///news.db", "sqlite+pysqlite:///news.db", "sqlite+aiosqlite:///news.db"),
        ("postgresql://u:pw@db/news", "postgresql+psycopg://u:pw@db/news", "postgresql+asyncpg"),
        ("postgres://u@db:5433/news", "postgresql+psycopg://u@db:5433/news", "postgresql+asyncpg"),
        ("mysql://root@db/news", "mysql+pymysql://root@db/news", "mysql+aiomysql"),
        ("mariadb://root@db/news", "mysql+pymysql://root@db/news", "mysql+aiomysql"),
        # A URL naming one of Kettle's drivers gets its twin...
        ("postgresql+asyncpg://u@db/news", "postgresql+psycopg", "postgresql+asyncpg"),
        ("mysql+aiomysql://root@db/news", "mysql+pymysql", "mysql+aiomysql"),
        ("sqlite+aiosqlite:///news.db", "sqlite+pysqlite", "sqlite+aiosqlite"),
        # ... and any other driver is kept on its side, sync or async.
        ("postgresql+psycopg2://u@db/news", "postgresql+psycopg2", "postgresql+asyncpg"),
        ("mysql+asyncmy://root@db/news", "mysql+pymysql", "mysql+asyncmy"),
    ],
)
def test_every_url_has_a_sync_and_an_async_twin(url: str, sync: str, async_: str) -> None:
    sync_url, async_url = split_url(url)
    assert sync_url.render_as_string(hide_password=False).startswith(sync)
    assert async_url.render_as_string(hide_password=False).startswith(async_)
    assert (sync_url.database, async_url.database) == (sa.make_url(url).database,) * 2


def test_unknown_backend_is_a_configuration_error_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        split_url("oracle://scott:tiger@db/news")
    message = str(caught.value)
    assert "'oracle'" in message
    assert "postgresql://" in message
    assert "tiger" not in message


def test_unknown_driver_and_garbage_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="no driver 'nosuch'"):
        split_url("postgresql+nosuch://u:secret@db/news")
    with pytest.raises(ConfigurationError, match="cannot be parsed") as caught:
        split_url("postgresql//u:secret@db")
    assert "secret" not in str(caught.value)


def test_url_comes_from_argument_then_setting_then_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@db/env")
    kettle_env = {"KETTLE_DATABASE_URL": "mysql://kettle@db/kettle"}
    configured = Settings.load(env="testing", env_file=None, environ=kettle_env)

    def url_of(settings: Settings, url: str | None = None) -> str:
        app = App(settings=settings, root=tmp_path)
        return Database(app, url=url).url.render_as_string()

    assert url_of(configured, "sqlite:///a.db") == "sqlite:///a.db"
    assert url_of(configured) == "mysql://kettle@db/kettle"
    assert url_of(_settings()) == "postgresql://env@db/env"


def test_bad_url_stops_start_up_naming_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "oracle://scott:tiger@db/news")
    app = App(settings=_settings(), root=tmp_path)
    Database(app)
    with pytest.raises(ConfigurationError, match=r"'oracle'.*comes from DATABASE_URL"):
        TestClient(app).__enter__()


# --- SQLite ----------------------------------------------------------------------------------
@pytest.fixture
def default_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    import newsmodels  # noqa: F401 - the tables

    monkeypatch.delenv("DATABASE_URL", raising=False)
    database = Database(App(settings=_settings(), root=tmp_path))
    database.create_all()
    return database


def test_default_is_sqlite_file_in_the_app_root(default_db: Database, tmp_path: Path) -> None:
    assert default_db.dialect == "sqlite"
    assert default_db.url.database == str(tmp_path / "db.sqlite3")
    assert (tmp_path / "db.sqlite3").is_file()
    default_db.dispose()


def test_sqlite_wal_and_foreign_keys_on_both_engines(default_db: Database) -> None:
    with default_db.sync_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    async def pragmas() -> tuple[str, int]:
        async with default_db.async_engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        await default_db.adispose()
        return mode, keys

    assert asyncio.run(pragmas()) == ("wal", 1)


def test_sqlite_enforces_foreign_keys(default_db: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError), default_db.session():
        Article.objects.create(title="Orphan", author_id=4242)
    with default_db.session():
        assert Article.objects.count() == 0
    default_db.dispose()


def test_in_memory_sqlite_is_one_database_for_both_engines(tmp_path: Path) -> None:
    import newsmodels  # noqa: F401 - the tables

    db = Database(App(settings=_settings(), root=tmp_path), url="sqlite://")
    db.create_all()
    with db.session():
        User.objects.create(username="ann")
    db.dispose()  # the data lives as long as the Database, not its pool

    async def count() -> int:
        async with db.async_session():
            return await User.objects.acount()

    assert asyncio.run(count()) == 1
    other = Database(url="sqlite://")
    with pytest.raises(sa.exc.OperationalError, match="no such table"), other.session():
        User.objects.count()


# --- pools and threads -----------------------------------------------------------------------
def test_blocking_pool_has_a_connection_per_handler_thread(tmp_path: Path) -> None:
    app = App(settings=_settings(thread_pool_size=7), root=tmp_path)
    db = Database(app, url=f"sqlite:///{tmp_path / 'p.db'}")
    assert db.sync_engine.pool.size() == 7  # type: ignore[attr-defined]
    db.dispose()


def test_db_pool_size_caps_the_connections_below_the_threads(tmp_path: Path) -> None:
    app = App(settings=_settings(thread_pool_size=40, db_pool_size=3), root=tmp_path)
    db = Database(app, url=f"sqlite:///{tmp_path / 'p.db'}")
    assert db.sync_engine.pool.size() == 3  # type: ignore[attr-defined]
    assert (db.pools.sync_size, db.pools.async_size) == (3, 3)
    db.dispose()
    with pytest.raises(ConfigurationError, match=r"db_pool_size \(KETTLE_DB_POOL_SIZE\)"):
        _settings(db_pool_size=0).check()


def test_dispose_closes_the_connections_a_test_clients_loop_opened(db: Database, app: App) -> None:
    """A ``TestClient`` runs async handlers on a loop in its own thread; ``dispose()``
    closes that loop's connections too, not only the blocking engine's (a suite that
    makes an app a test would otherwise keep a server connection open per test)."""
    opened: list[object] = []
    closed: list[object] = []

    def connected(dbapi_connection: object, record: object) -> None:
        opened.append(dbapi_connection)

    def gone(dbapi_connection: object, record: object) -> None:
        closed.append(dbapi_connection)

    @app.get("/count")
    async def count() -> dict[str, int]:
        return {"users": await User.objects.acount()}

    sa.event.listen(sa.pool.Pool, "connect", connected)
    sa.event.listen(sa.pool.Pool, "close", gone)
    try:
        client = TestClient(app)  # no ``with``: its loop outlives the request
        assert client.get("/count").json() == {"users": 0}
        assert opened, "the async handler opened no connection"
        assert [c for c in opened if c not in closed], "the pool kept no connection"
        db.dispose()
        assert [c for c in opened if c not in closed] == []
        # The pools are still usable afterwards: new connections are made.
        assert client.get("/count").json() == {"users": 0}
        db.dispose()  # NOTE: before the loop stops: a stopped loop's can't be closed
        client.close()
    finally:
        sa.event.remove(sa.pool.Pool, "connect", connected)
        sa.event.remove(sa.pool.Pool, "close", gone)


@pytest.mark.anyio
@pytest.mark.parametrize("hook", [False, True], ids=["handler", "hook-and-handler"])
@pytest.mark.parametrize(
    "limits",
    [{"thread_pool_size": 4}, {"thread_pool_size": 40, "db_pool_size": 4}],
    ids=["threads", "pool"],
)
async def test_many_def_handlers_never_deadlock_on_connections(
    db: Database, tmp_path: Path, hook: bool, limits: dict[str, int]
) -> None:
    """20 concurrent def handlers on 4 threads, each holding a connection while it works.

    With a def before-hook that writes, each request holds its connection while waiting
    for a thread for its handler: without admission control that deadlocks until the pool
    times out (and answers 503s).
    """
    # Four threads, or forty threads and four connections: requests wait to be admitted.
    app = App(settings=_settings(**limits), root=tmp_path)
    Database(app, url=db.url.render_as_string(hide_password=False), pool_timeout=5)
    if hook:

        @app.before_request
        def tag(request: Request) -> None:
            Tag.objects.create(name=f"t{request.path_params['i']}")

    @app.post("/users/<int:i>")
    def create(i: int) -> dict[str, int]:
        User.objects.create(username=f"u{i}")
        time.sleep(0.02)  # hold the connection (and the thread) a moment
        return {"i": i}

    async with AsyncTestClient(app) as client:
        requests = (client.post(f"/users/{i}") for i in range(20))
        responses = await asyncio.wait_for(asyncio.gather(*requests), timeout=20)
    assert [r.status_code for r in responses] == [200] * 20
    with db.session():
        assert User.objects.count() == 20
        assert Tag.objects.count() == (20 if hook else 0)
