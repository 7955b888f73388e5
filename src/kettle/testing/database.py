"""Test databases: made once per run next to the app's own, each test rolled back.

The URL comes from the app's ``Database`` (``DATABASE_URL``...): on PostgreSQL and
MariaDB the test database is the same server's ``test_<name>`` (Django's convention; a
pytest-xdist worker adds its id, ``test_news_gw0``), dropped at the end of the run; on
SQLite it is a file in the run's temporary folder. It is migrated with the project's
migrations when it has any, else the models' tables are created (``create_all``).

Each test then runs inside one transaction on one connection, rolled back at its end:
every unit of work (requests, ``db.session()``, async and ``def`` code) opens its
sessions on that connection, and its commit only releases a savepoint::

    databases = TestDatabases(Path("/tmp/run"))
    with databases.rolled_back(app.state.db):
        ...                # writes here are gone afterwards
    databases.close()
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from kettle.db import Database
from kettle.db.migrations import Migrations
from kettle.db.migrations.config import Project
from kettle.exceptions import ConfigurationError


def database_of(app: Any) -> Database:
    """The app's ``Database``; a clear error for an app without kettle.db."""
    database = getattr(getattr(app, "state", None), "db", None)
    if not isinstance(database, Database):
        raise ConfigurationError(
            "The db fixture needs an app with a database: create `Database(app)` in the "
            "app that your `app` fixture returns."
        )
    return database


def url_for_tests(url: URL, folder: Path) -> URL:
    """The test database's URL for the configured ``url``::

    url_for_tests(make_url("postgresql://news@db/news"), tmp)   # postgresql://news@db/test_news
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    suffix = f"_{worker}" if worker else ""
    if url.get_backend_name() == "sqlite":
        name = Path(url.database or "memory").stem
        path = folder / f"test_{name}{suffix}.sqlite3"
        # NOTE: one connection serves the test's thread, the client's loop thread and the
        # handler threads in turn.
        return url.set(database=str(path), query={"check_same_thread": "false"})
    return url.set(database=f"test_{url.database}{suffix}")


def _server_admin(url: URL) -> sa.Engine:
    """An engine on the server of ``url`` outside any database, to create and drop them."""
    from kettle.db.database import split_url

    sync = split_url(url)[0]
    maintenance = "postgres" if url.get_backend_name() == "postgresql" else None
    # NOTE: URL.create, not set(database=None), which keeps the database as it is.
    server = URL.create(
        sync.drivername, sync.username, sync.password, sync.host, sync.port, maintenance
    )
    return sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _recreate(url: URL, drop_only: bool = False) -> None:
    engine = _server_admin(url)
    name = engine.dialect.identifier_preparer.quote(str(url.database))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                if not drop_only:
                    connection.exec_driver_sql(f"CREATE DATABASE {name}")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
                if not drop_only:
                    connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    finally:
        engine.dispose()


class TestDatabases:
    """The test databases of one run (see the module docstring); ``folder`` holds the
    SQLite ones."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        #: Test ``Database`` per configured URL and migrations folder.
        self._made: dict[tuple[str, Path], Database] = {}

    def for_app(self, database: Database) -> Database:
        """The test database for the app's ``database``: made and migrated on first use;
        without migrations, tables of models imported since are created each time."""
        folder = Project.for_database(database).folder
        key = (database.url.render_as_string(hide_password=False), folder)
        test = self._made.get(key)
        migrated = Project(database, folder).has_revisions()
        if test is None:
            url = url_for_tests(database.url, self.folder)
            if url.get_backend_name() == "sqlite":
                Path(str(url.database)).unlink(missing_ok=True)
            else:
                _recreate(url)
            test = self._made[key] = Database(url=url)
            if migrated:
                Migrations(test, folder, stdout=io.StringIO(), progress=False).migrate()
        if not migrated:
            test.create_all()
        return test

    @contextlib.contextmanager
    def rolled_back(self, database: Database) -> Iterator[Database]:
        """Bind ``database`` to its test database, in a transaction rolled back at the
        end; yields ``database``."""
        test = self.for_app(database)
        connection = test.sync_engine.connect()
        if connection.dialect.name == "postgresql":
            # NOTE: an explicit isolation level keeps the transaction from its first
            # statement (kettle.db._deferred would put it in autocommit until a write).
            connection = connection.execution_options(isolation_level="READ COMMITTED")
        outer = connection.begin()
        database.bind_to(connection)
        try:
            yield database
        finally:
            database.bind_to(None)
            with contextlib.suppress(sa.exc.DBAPIError):
                outer.rollback()
            connection.close()

    def close(self) -> None:
        """Close the test databases' connections and drop the server ones."""
        for test in self._made.values():
            test.dispose()
            url = test.url
            if url.get_backend_name() != "sqlite":
                with contextlib.suppress(sa.exc.DBAPIError):
                    _recreate(url, drop_only=True)
        self._made.clear()


__all__ = ["TestDatabases", "database_of", "url_for_tests"]
