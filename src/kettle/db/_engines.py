"""Engines: a sync and an async driver per database, pool sizes, SQLite's settings.

A URL names a database; Kettle needs a blocking driver for ``def`` code and an asyncio
driver for ``async def`` code, so every URL has a twin::

    split_url("postgresql://app@db/news")
    # postgresql+psycopg://app@db/news, postgresql+asyncpg://app@db/news

``postgres://`` and ``mariadb://`` are accepted as aliases; a URL that names a driver
keeps it on its own side (sync or async) and gets Kettle's default for the other.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from kettle.db import _deferred, _liveness, _unavailable
from kettle.exceptions import ConfigurationError

log = logging.getLogger("kettle.db")

#: Sync and async drivers per database; a URL naming one driver gets its twin for the other.
DRIVERS = {
    "sqlite": ("pysqlite", "aiosqlite"),
    "postgresql": ("psycopg", "asyncpg"),
    "mysql": ("pymysql", "aiomysql"),
}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}


def split_url(url: str | URL) -> tuple[URL, URL]:
    """The sync and async URLs for ``url`` (``postgresql://`` -> psycopg and asyncpg).

    ::

        split_url("mariadb://root@localhost/news")
        # mysql+pymysql://root@localhost/news, mysql+aiomysql://root@localhost/news
    """
    parsed = parse_url(url)
    name = parsed.get_backend_name()
    backend = _ALIASES.get(name, name)
    if backend not in DRIVERS:
        raise ConfigurationError(
            f"Kettle does not know the database {name!r} of the URL "
            f"{parsed.render_as_string(hide_password=True)!r}; use sqlite://, postgresql:// "
            "(or postgres://) or mysql:// (or mariadb://)."
        )
    sync_driver, async_driver = DRIVERS[backend]
    if "+" in parsed.drivername:
        named = parsed.get_driver_name()
        if named not in (sync_driver, async_driver):
            if _is_async_driver(parsed.set(drivername=f"{backend}+{named}")):
                async_driver = named
            else:
                sync_driver = named
    return (
        parsed.set(drivername=f"{backend}+{sync_driver}"),
        parsed.set(drivername=f"{backend}+{async_driver}"),
    )


def parse_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy ``URL``; a ``ConfigurationError`` if it is not one."""
    try:
        return make_url(url)
    except sa_exc.ArgumentError:
        # NOTE: the text is not repeated: it may hold a password we cannot find in it.
        raise ConfigurationError(
            "The database URL cannot be parsed; write it like "
            "postgresql://user:password@host/name or sqlite:///path/to/db.sqlite3."
        ) from None


def _is_async_driver(url: URL) -> bool:
    try:
        dialect = url.get_dialect()
    except sa_exc.NoSuchModuleError:
        raise ConfigurationError(
            f"SQLAlchemy has no driver {url.get_driver_name()!r} for {url.get_backend_name()}"
            f" (in {url.render_as_string(hide_password=True)!r}); leave the driver out to "
            f"use Kettle's: {url.get_backend_name()}://..."
        ) from None
    return bool(getattr(dialect, "is_async", False))


def is_memory(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (``sqlite://``)."""
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


@dataclass(slots=True)
class Pools:
    """How many connections each engine keeps, and how long a request waits for one."""

    #: Connections of the blocking engine: one per handler thread.
    sync_size: int
    #: Connections of the async engine.
    async_size: int = 10
    #: Extra connections for work outside requests (scripts, background threads).
    overflow: int = 10
    timeout: float = 10.0


class SharedMemory:
    """An in-memory SQLite database that the sync and async engines share.

    Each SQLite connection to ``:memory:`` has a database of its own; a named shared-cache
    database is one per process, kept alive by a connection held here (it lives as long
    as the ``Database``). One connection per engine: concurrent requests take turns.
    """

    def __init__(self) -> None:
        self.name = f"file:kettle-{secrets.token_hex(8)}"
        self._keepalive = sqlite3.connect(
            f"{self.name}?mode=memory&cache=shared", uri=True, check_same_thread=False
        )

    def url(self, url: URL) -> URL:
        """``url`` pointed at this database."""
        query = {"mode": "memory", "cache": "shared", "uri": "true"}
        return url.set(database=self.name, query=query)


def sync_engine(
    url: URL,
    pools: Pools,
    memory: SharedMemory | None,
    echo: bool,
    connect_args: dict[str, Any] | None = None,
) -> Engine:
    """The blocking engine for ``url`` (a sync URL from ``split_url``); ``connect_args``
    go to the driver's ``connect()`` (read replicas bound its wait with them)."""
    if memory is not None:
        options: dict[str, Any] = {
            "poolclass": QueuePool,
            "pool_size": 1,
            "max_overflow": 0,
            "connect_args": {"check_same_thread": False},
        }
        url = memory.url(url)
    else:
        options = {"pool_size": pools.sync_size, "max_overflow": pools.overflow}
        if connect_args:
            options["connect_args"] = connect_args
    engine = sa.create_engine(url, echo=echo, pool_timeout=pools.timeout, **options)
    _configure(engine)
    return engine


def async_engine(
    url: URL,
    pools: Pools,
    memory: SharedMemory | None,
    echo: bool,
    connect_args: dict[str, Any] | None = None,
) -> AsyncEngine:
    """The async engine for ``url`` (an async URL from ``split_url``); ``connect_args``
    as for ``sync_engine``."""
    if memory is not None:
        options: dict[str, Any] = {
            "poolclass": AsyncAdaptedQueuePool,
            "pool_size": 1,
            "max_overflow": 0,
        }
        url = memory.url(url)
    else:
        options = {"pool_size": pools.async_size, "max_overflow": pools.overflow}
        if connect_args:
            options["connect_args"] = connect_args
    engine = create_async_engine(url, echo=echo, pool_timeout=pools.timeout, **options)
    _configure(engine.sync_engine)
    return engine


class LoopEngines:
    """The async engines of one database: one per event loop that uses it at a time.

    An async connection (asyncpg, aiomysql, aiosqlite), and the lock SQLAlchemy holds
    while the first one sets up the dialect, belong to the loop that made them. Several
    loops may use one app at once (test clients in threads, a ``TestClient`` beside an
    ``AsyncTestClient``), so each running loop gets an engine of its own; a loop that comes
    after one has closed (``asyncio.run()`` twice) takes over the closed loop's engine,
    listeners and all::

        engines = LoopEngines(lambda: async_engine(url, pools, None, echo=False))
        engines.first        # outside a loop: the engine the next loop will use
        engines.here()       # inside one: this loop's engine
    """

    def __init__(self, make: Callable[[], AsyncEngine]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._owners: dict[AsyncEngine, asyncio.AbstractEventLoop | None] = {}
        self._by_loop: dict[asyncio.AbstractEventLoop, AsyncEngine] = {}

    @property
    def first(self) -> AsyncEngine:
        """The first engine (made now if there is none): the one to add listeners to."""
        with self._lock:
            if not self._owners:
                self._owners[self._make()] = None
            return next(iter(self._owners))

    def current(self) -> AsyncEngine | None:
        """The running loop's engine, if it has one (outside a loop: None)."""
        try:
            return self._by_loop.get(asyncio.get_running_loop())
        except RuntimeError:
            return None

    def here(self) -> AsyncEngine:
        """The running loop's engine: its own, a closed loop's, or a new one."""
        loop = asyncio.get_running_loop()
        # PERF: every async session asks; past a loop's first, one dict lookup answers.
        engine = self._by_loop.get(loop)
        if engine is not None:
            return engine
        with self._lock:
            for engine, owner in self._owners.items():
                if owner is None or owner.is_closed():
                    if owner is not None:
                        # NOTE: a closed loop's connections can be neither used nor closed
                        # from here: the pool forgets them.
                        engine.sync_engine.dispose(close=False)
                        del self._by_loop[owner]
                    break
            else:
                engine = self._make()
            self._owners[engine] = loop
            self._by_loop[loop] = engine
            return engine

    def dispose_other_loops(self, timeout: float = 5.0) -> None:
        """Close the pooled connections of every loop's engine but the running loop's.

        A loop running in another thread (a ``TestClient``'s) closes its engine's
        connections itself, waited for up to ``timeout`` seconds; a loop that is not
        running has them closed here; a closed loop's can be neither used nor closed, so
        its pool forgets them. The running loop's engine is ``await engine.dispose()``'s.
        """
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            owned = [(engine, loop) for engine, loop in self._owners.items() if loop is not None]
        for engine, loop in owned:
            if loop is running:
                continue
            if loop.is_closed():
                engine.sync_engine.dispose(close=False)
            elif loop.is_running():
                done = asyncio.run_coroutine_threadsafe(engine.dispose(), loop)
                try:
                    done.result(timeout)
                except Exception as error:  # a loop too busy to answer, or gone meanwhile
                    done.cancel()
                    log.warning(
                        "The async engine of a loop in another thread was not closed in "
                        "%s s (%s); its connections close when that loop ends.",
                        timeout,
                        error,
                    )
            else:
                loop.run_until_complete(engine.dispose())


def _configure(engine: Engine) -> None:
    _unavailable.watch(engine)
    if engine.dialect.name != "sqlite":
        # NOTE: instead of pool_pre_ping: a round trip only for connections left idle (an
        # SQLite connection is a file handle; no server can close it under us).
        _liveness.watch(engine)
    if engine.dialect.name in ("postgresql", "sqlite"):
        # Transactions start at the first write (SQLite: with BEGIN IMMEDIATE).
        _deferred.watch(engine)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # Let Kettle, not the driver, open transactions (kettle.db._deferred), so SAVEPOINT
    # works (both sqlite3 and aiosqlite take the attribute).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # LIKE is case-insensitive in SQLite by default; contains/startswith must not be.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()
    # SQLite's lower() folds ASCII only; iexact/icontains must fold "Ünïcode" as well.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


__all__ = [
    "DRIVERS",
    "LoopEngines",
    "Pools",
    "SharedMemory",
    "async_engine",
    "is_memory",
    "parse_url",
    "split_url",
    "sync_engine",
]
