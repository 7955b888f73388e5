"""Database fixtures: every data-layer test runs on SQLite, PostgreSQL and MariaDB.

Each test run gets databases of its own (``kettle_test_<pid>``) on the servers, so runs in
parallel never see each other's rows. Without a server the tests of that engine skip with a
loud reason; under CI (``CI=true``) a missing server fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from kettle import App, Settings
from kettle.db import Database
from servers import server_missing

if TYPE_CHECKING:
    from pgreplica import PrimaryAndReplica

SERVERS = {
    "postgresql": os.environ.get(
        "KETTLE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get("KETTLE_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test"),
}
ENGINES = ("sqlite", "postgresql", "mysql")
RUN_DB = f"kettle_test_{os.getpid()}"


def _admin_url(engine: str) -> sa.URL:
    from kettle.db.database import split_url

    return split_url(SERVERS[engine])[0]


def _create_database(engine: str) -> str:
    """Create this run's database on ``engine``'s server; returns its URL."""
    admin = _admin_url(engine)
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as connection:
            if engine == "postgresql":
                # NOTE: tests/auth reuses this fixture, so by the time tests/db asks for it
                # the run's database may exist with their pooled connections still open.
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{RUN_DB}' AND pid <> pg_backend_pid()"
                )
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{RUN_DB}"')
                connection.exec_driver_sql(f'CREATE DATABASE "{RUN_DB}"')
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{RUN_DB}`")
                connection.exec_driver_sql(f"CREATE DATABASE `{RUN_DB}` CHARACTER SET utf8mb4")
    finally:
        eng.dispose()
    return admin.set(database=RUN_DB).render_as_string(hide_password=False)


def _drop_database(engine: str) -> None:
    eng = sa.create_engine(_admin_url(engine), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as connection:
            quote = '"' if engine == "postgresql" else "`"
            if engine == "postgresql":
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{RUN_DB}' AND pid <> pg_backend_pid()"
                )
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{RUN_DB}{quote}")
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """A URL per engine for this run, or None where the server is missing (outside CI)."""
    urls: dict[str, str | None] = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    }
    created = []
    for engine in SERVERS:
        try:
            urls[engine] = _create_database(engine)
            created.append(engine)
        except Exception as error:  # any failure means "no server here"
            server_missing(engine, SERVERS[engine], error, f"every {engine} test")
            urls[engine] = None
    yield urls
    for engine in created:
        _drop_database(engine)


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, engine_urls: dict[str, str | None]) -> str:
    """The URL of each engine in turn (tests using it run three times)."""
    url = engine_urls[request.param]
    if url is None:
        pytest.skip(f"no {request.param} server here (set CI=true to make this an error)")
    return url


@pytest.fixture
def app(tmp_path: Path) -> App:
    """A bare app in testing mode."""
    return App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)


@pytest.fixture
def db(app: App, db_url: str) -> Iterator[Database]:
    """A Database on each engine with the news models' tables created, dropped afterwards."""
    from dbhelpers import news_tables  # NOTE: here: tests/auth imports this module too

    with news_tables(app, db_url) as database:
        yield database


@pytest.fixture(scope="session")
def pg_replica() -> Iterator[PrimaryAndReplica]:
    """A new PostgreSQL primary and a streaming replica of it (tests/db/pgreplica.py),
    started once per run; skips where this machine has no PostgreSQL binaries."""
    from pgreplica import binaries, start_primary_and_replica

    if binaries() is None:
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql to start a replica")
    pair = start_primary_and_replica()
    try:
        yield pair
    finally:
        pair.stop()
