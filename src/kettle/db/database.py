"""``Database``: engines, sessions per request, and what happens when the database is down.

::

    app = App()
    db = Database(app)            # DATABASE_URL, else SQLite in db.sqlite3 next to the app

Every request gets a unit of work: committed when the handler (and its hooks) succeed,
rolled back when anything raises, for ``def`` and ``async def`` handlers alike. While the
database is unreachable, requests that need it get a 503 and nothing is half-written;
``pool_pre_ping`` lets the next request after a restart succeed with no restart of Kettle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from kettle.db import session as units
from kettle.db.models import Model
from kettle.exceptions import ConfigurationError, HTTPException

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request

log = logging.getLogger("kettle.db")

#: Sync and async drivers per database; a URL naming one driver gets its twin for the other.
DRIVERS = {
    "sqlite": ("pysqlite", "aiosqlite"),
    "postgresql": ("psycopg", "asyncpg"),
    "mysql": ("pymysql", "aiomysql"),
}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}

#: Errors that mean "the database cannot be reached", answered with 503.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    ConnectionRefusedError,
)


def split_url(url: str | URL) -> tuple[URL, URL]:
    """The sync and async URLs for ``url`` (``postgresql://`` -> psycopg and asyncpg)."""
    parsed = make_url(url)
    backend = _ALIASES.get(parsed.get_backend_name(), parsed.get_backend_name())
    if backend not in DRIVERS:
        raise ConfigurationError(
            f"Kettle does not know the database {backend!r} in DATABASE_URL; use sqlite://, "
            "postgresql:// or mysql:// (MariaDB)."
        )
    sync_driver, async_driver = DRIVERS[backend]
    return (
        parsed.set(drivername=f"{backend}+{sync_driver}"),
        parsed.set(drivername=f"{backend}+{async_driver}"),
    )


class Database:
    """The database battery for an app (see the module docstring).

    ``models`` lists modules to import so every model is known (for migrations)::

        db = Database(app, models=["news.models"])
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | None = None,
        *,
        models: Sequence[str] = (),
        echo: bool = False,
        pool_timeout: float = 10.0,
    ) -> None:
        self.app: App | None = None
        self._url = url
        self.models = tuple(models)
        self.echo = echo
        self.pool_timeout = pool_timeout
        self.metadata = Model.metadata
        # NOTE: commits of def handlers' sessions run here, never in the handler pool: a
        # request waiting to commit holds a connection, and must not wait behind handlers
        # that are themselves waiting for a connection.
        self._executor = ThreadPoolExecutor(4, thread_name_prefix="kettle-db")
        if app is not None:
            self.init_app(app)

    def init_app(self, app: App) -> None:
        """Attach to ``app``: a unit of work per request, 503 when unreachable, dispose on stop."""
        self.app = app
        app.around_request(self.request_unit)
        for error in UNAVAILABLE:
            app.errorhandler(error)(self._unavailable)
        app.on_shutdown(self.adispose)
        app.state.db = self
        self.discover()

    def discover(self) -> None:
        """Import the model modules named in ``models`` so their tables are registered."""
        for module in self.models:
            importlib.import_module(module)

    # --- URLs and engines ------------------------------------------------------------------
    @functools.cached_property
    def url(self) -> URL:
        """The configured URL: the argument, KETTLE_DATABASE_URL, DATABASE_URL, or SQLite."""
        text = self._url
        if not text and self.app is not None:
            text = self.app.settings.database_url
        text = text or os.environ.get("DATABASE_URL", "")
        if not text:
            root = self.app.root if self.app is not None else os.getcwd()
            text = f"sqlite:///{os.path.join(root, 'db.sqlite3')}"
        return make_url(text)

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql``."""
        return split_url(self.url)[0].get_backend_name()

    def _pool_options(self, for_async: bool) -> dict[str, Any]:
        if self.dialect == "sqlite" and self.url.database in (None, "", ":memory:"):
            return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        threads = self.app.settings.thread_pool_size if self.app is not None else 10
        # Sync: one connection per handler thread, plus room for the commit threads.
        size = 10 if for_async else threads
        return {
            "pool_size": size,
            "max_overflow": 10 if for_async else self._executor._max_workers,
            "pool_timeout": self.pool_timeout,
            "pool_pre_ping": True,
        }

    @functools.cached_property
    def sync_engine(self) -> Engine:
        """The blocking engine (created on first use)."""
        engine = sa.create_engine(
            split_url(self.url)[0], echo=self.echo, **self._pool_options(for_async=False)
        )
        self._configure(engine)
        return engine

    @functools.cached_property
    def async_engine(self) -> AsyncEngine:
        """The async engine (created on first use)."""
        engine = create_async_engine(
            split_url(self.url)[1], echo=self.echo, **self._pool_options(for_async=True)
        )
        self._configure(engine.sync_engine)
        return engine

    def _configure(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            return

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection: Any, record: Any) -> None:
            # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINT works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            # LIKE is case-insensitive in SQLite by default; contains/startswith must not be.
            cursor.execute("PRAGMA case_sensitive_like=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    def make_sync_session(self) -> Session:
        """A new blocking session on this database (the unit of work calls this)."""
        return Session(self.sync_engine, expire_on_commit=False)

    def make_async_session(self) -> AsyncSession:
        """A new async session on this database (the unit of work calls this)."""
        return AsyncSession(self.async_engine, expire_on_commit=False)

    # --- units of work ---------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work for scripts, tests and the shell; commits unless the block raises::

        with db.session():
            Article.objects.create(title="Hello")
        """
        token = units.begin(self)
        try:
            yield units.sync_session()
            self._close_sync(units.current_unit(), failed=False)
        except BaseException:
            self._close_sync(units.current_unit(), failed=True)
            raise
        finally:
            units.reset(token)

    @contextlib.asynccontextmanager
    async def async_session(self) -> AsyncIterator[AsyncSession]:
        """``session()`` for async code: ``async with db.async_session(): ...``."""
        token = units.begin(self)
        try:
            yield units.async_session()
            await self._finish(units.current_unit(), failed=False)
        except BaseException:
            await self._finish(units.current_unit(), failed=True)
            raise
        finally:
            units.reset(token)

    @contextlib.asynccontextmanager
    async def request_unit(self, request: Request) -> AsyncIterator[None]:
        """The per-request unit of work (installed by ``init_app``)."""
        token = units.begin(self)
        unit = units.current_unit()
        try:
            yield
        except BaseException:
            await self._finish(unit, failed=True)
            raise
        else:
            await self._finish(unit, failed=False)
        finally:
            units.reset(token)

    async def _finish(self, unit: units.UnitOfWork, failed: bool) -> None:
        try:
            if unit.async_ is not None:
                try:
                    if failed:
                        await unit.async_.rollback()
                    else:
                        await unit.async_.commit()
                finally:
                    await unit.async_.close()
        finally:
            if unit.sync is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._close_sync, unit, failed)

    @staticmethod
    def _close_sync(unit: units.UnitOfWork, failed: bool) -> None:
        if unit.sync is None:
            return
        try:
            if failed:
                unit.sync.rollback()
            else:
                unit.sync.commit()
        finally:
            unit.sync.close()

    async def _unavailable(self, request: Request, error: BaseException) -> Any:
        log.error("The database is unreachable: %s", error)
        raise HTTPException(503, "The service is temporarily unavailable; please try again.")

    # --- schema helpers (tests and quick starts; use migrations in production) ----------------
    def create_all(self) -> None:
        """Create every table that does not exist yet."""
        self.metadata.create_all(self.sync_engine)

    def drop_all(self) -> None:
        """Drop every table of the registered models."""
        self.metadata.drop_all(self.sync_engine)

    async def acreate_all(self) -> None:
        """``create_all()`` for async code."""
        async with self.async_engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    def dispose(self) -> None:
        """Close every pooled connection (sync engine)."""
        if "sync_engine" in self.__dict__:
            self.sync_engine.dispose()

    async def adispose(self) -> None:
        """Close every pooled connection of both engines (run at shut-down)."""
        self.dispose()
        if "async_engine" in self.__dict__:
            await self.async_engine.dispose()


__all__ = ["DRIVERS", "UNAVAILABLE", "Database", "split_url"]
