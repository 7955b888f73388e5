"""Fixtures for the admin tests: the admin on SQLite, PostgreSQL and MariaDB.

The engines come from the data layer's fixtures (``tests/db/conftest.py``); the admin
tests get databases of their own on the servers (``kettle_admin_<pid>``), so they never
drop a database another test package is using.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from adminsite import Site, make_site

from db import conftest as data_layer
from db.conftest import db_url  # noqa: F401 - each engine in turn, reused
from kettle.testing import TestClient
from servers import server_missing

RUN_DB = f"kettle_admin_{os.getpid()}"


def _run(engine: str, *statements: str) -> None:
    connection_url = data_layer._admin_url(engine)
    eng = sa.create_engine(connection_url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        eng.dispose()


def _quoted(engine: str) -> str:
    return f'"{RUN_DB}"' if engine == "postgresql" else f"`{RUN_DB}`"


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    """A URL per engine for the admin tests, or None where the server is missing."""
    urls: dict[str, str | None] = {
        "sqlite": f"sqlite:///{tmp_path_factory.mktemp('admin') / 'admin.sqlite3'}"
    }
    created = []
    for engine in data_layer.SERVERS:
        charset = " CHARACTER SET utf8mb4" if engine == "mysql" else ""
        try:
            _run(
                engine,
                f"DROP DATABASE IF EXISTS {_quoted(engine)}",
                f"CREATE DATABASE {_quoted(engine)}{charset}",
            )
        except Exception as error:  # any failure means "no server here"
            server_missing(
                engine, data_layer.SERVERS[engine], error, f"every admin test on {engine}"
            )
            urls[engine] = None
            continue
        created.append(engine)
        admin = data_layer._admin_url(engine)
        urls[engine] = admin.set(database=RUN_DB).render_as_string(hide_password=False)
    yield urls
    for engine in created:
        if engine == "postgresql":
            _run(
                engine,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{RUN_DB}' AND pid <> pg_backend_pid()",
            )
        _run(engine, f"DROP DATABASE IF EXISTS {_quoted(engine)}")


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:  # noqa: F811
    """The admin on each engine in turn, its tables empty."""
    built = make_site(tmp_path, db_url)
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """The admin on SQLite only, for what does not depend on the engine."""
    built = make_site(tmp_path, f"sqlite:///{tmp_path / 'admin.sqlite3'}")
    built.db.create_all()
    yield built
    built.db.dispose()


@pytest.fixture
def root(site: Site) -> Iterator[TestClient]:
    """A client signed in as a superuser, on each engine in turn."""
    site.user("root", superuser=True)
    client = site.client("root")
    yield client
    client.__exit__(None, None, None)
