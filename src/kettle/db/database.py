"""``Database``: engines, sessions per request, and what happens when the database is down.

::

    app = App()
    db = Database(app)            # DATABASE_URL, else SQLite in db.sqlite3 next to the app

Every request gets a unit of work: committed when the handler (and its hooks) succeed,
rolled back when anything raises, for ``def`` and ``async def`` handlers alike. While the
database is unreachable, requests that need it get a 503 and nothing is half-written;
pooled connections are checked before use (``_liveness``: a ping only for idle ones), so
the next request after a restart succeeds with no restart of Kettle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.session import SessionTransactionState

from kettle.db import _engines, _replicas
from kettle.db import session as units
from kettle.db._admission import Admission
from kettle.db._deferred import DEFERRED, UnitSession
from kettle.db._engines import DRIVERS, split_url
from kettle.db._lazyload import AsyncOrmSession
from kettle.db._unavailable import UNAVAILABLE, DatabaseUnavailable, respond_unavailable
from kettle.db.models import Model
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kettle.app import App
    from kettle.requests import Request
    from kettle.responses.base import Response
    from kettle.routing import Route

    RouteRunner = Callable[[Route, Request], Awaitable[Response]]
    from kettle.scaffold import Scaffold

log = logging.getLogger("kettle.db")

#: Threads that commit or roll back the blocking sessions of finished requests.
COMMIT_THREADS = 4
_ACTIVE = SessionTransactionState.ACTIVE


class Database:
    """The database battery for an app (see the module docstring).

    The URL is the ``url`` argument, else the ``database_url`` setting
    (``KETTLE_DATABASE_URL``), else ``DATABASE_URL``, else SQLite in ``db.sqlite3`` in
    the app's root. ``models`` lists modules to import so every model is known (for
    migrations)::

        db = Database(app, models=["news.models"])

    Outside requests (scripts, tests, the shell) open a unit of work yourself::

        with db.session():
            Article.objects.create(title="Hello", author=ann)
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | URL | None = None,
        *,
        models: Sequence[str] = (),
        echo: bool = False,
        pool_timeout: float = 10.0,
        fast_path: bool | None = None,
        replicas: Sequence[str | URL] | None = None,
    ) -> None:
        self.app: App | None = None
        self._url = url
        self._replica_urls = replicas
        self.models = tuple(models)
        self.echo = echo
        self.pool_timeout = pool_timeout
        #: Whether QuerySet reads run compiled on the driver (docs/database.md, "How reads
        #: run"); off with ``fast_path=False``, ``KETTLE_DB_FAST_PATH=0`` or ``echo=True``
        #: (whose log would miss those statements).
        self.fast_path = _fast_path_default(echo) if fast_path is None else fast_path
        self.metadata = Model.metadata
        self._commits: ThreadPoolExecutor | None = None
        self._memory: _engines.SharedMemory | None = None
        self._async_engines = _engines.LoopEngines(self._make_async_engine)
        #: Set by ``bind_to``: the connection every unit of work opens its sessions on.
        self._bound: Connection | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: App) -> None:
        """Attach to ``app``: a unit of work per request, 503 when unreachable, dispose on stop.

        For app factories::

            db = Database(models=["news.models"])

            def create_app() -> App:
                app = App()
                db.init_app(app)
                return app
        """
        self.app = app
        app.around_request(_RequestUnits(self))
        app.around_command(self.command_unit)
        for error in UNAVAILABLE:
            app.errorhandler(error)(respond_unavailable)
        app.on_startup(self._check_url)
        # Groups included after this Database was made are discovered when the app starts.
        app.on_startup(self.discover)
        app.on_shutdown(self.adispose)
        app.state.db = self
        self.discover()

    def discover(self) -> None:
        """Import the model modules named in ``models`` and in every route group's
        ``models`` (``Group("blog", models=["blog.models"])``), so their tables register."""
        modules = list(self.models)
        pending: list[Scaffold] = [self.app] if self.app is not None else []
        while pending:
            scaffold = pending.pop()
            modules.extend(scaffold.models)
            pending.extend(scaffold.groups)
        for module in dict.fromkeys(modules):
            importlib.import_module(module)

    # --- URLs and engines ------------------------------------------------------------------
    @functools.cached_property
    def url(self) -> URL:
        """The configured URL: the argument, KETTLE_DATABASE_URL, DATABASE_URL, or SQLite::

        Database(app, url="postgres://app@db/news").url.database   # "news"
        """
        return self._urls[0]

    @functools.cached_property
    def _urls(self) -> tuple[URL, URL, URL]:
        """The configured URL and its sync and async twins."""
        text, source = self._url, "Database(url=...)"
        if not text and self.app is not None:
            text, source = self.app.settings.database_url, "KETTLE_DATABASE_URL"
        if not text:
            text, source = os.environ.get("DATABASE_URL", ""), "DATABASE_URL"
        if not text:
            root = self.app.root if self.app is not None else os.getcwd()
            text = URL.create("sqlite", database=os.path.join(root, "db.sqlite3"))
        try:
            url = _engines.parse_url(text)
            return (url, *split_url(url))
        except ConfigurationError as error:
            raise ConfigurationError(f"{error} (The URL comes from {source}.)") from None

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB)::

        if db.dialect == "postgresql":
            ...  # a PostgreSQL-only query
        """
        return self._urls[1].get_backend_name()

    async def _check_url(self) -> None:
        _ = self._urls  # a ConfigurationError here stops start-up with its message
        _ = self.replicas

    @functools.cached_property
    def replicas(self) -> _replicas.Replicas | None:
        """The read replicas (docs/database.md, "Read replicas"), or None without any::

        db = Database(app, replicas=["postgresql://app@replica1/news"])
        db.replicas.retry_after = 5.0   # seconds a replica that is down is left alone

        They come from the ``replicas`` argument, else the ``database_replica_urls``
        setting (``KETTLE_DATABASE_REPLICA_URLS``), else ``DATABASE_REPLICA_URLS``
        (comma-separated).
        """
        urls, source = self._replica_urls, "Database(replicas=...)"
        if urls is None and self.app is not None:
            urls, source = self.app.settings.database_replica_urls, "KETTLE_DATABASE_REPLICA_URLS"
        if not urls:
            text, source = os.environ.get("DATABASE_REPLICA_URLS", ""), "DATABASE_REPLICA_URLS"
            urls = [part.strip() for part in text.split(",") if part.strip()]
        if not urls:
            return None
        return _replicas.configured(self._urls[1], urls, source, self.pools, self.echo)

    @functools.cached_property
    def pools(self) -> _engines.Pools:
        """Connection pool sizes: the blocking engine has one connection per handler thread,
        or ``db_pool_size`` (``KETTLE_DB_POOL_SIZE``) when set; the ``def`` requests that
        use the database wait for one of them before they start (``Admission``)."""
        if self.app is None:
            return _engines.Pools(sync_size=10, timeout=self.pool_timeout)
        settings = self.app.settings
        size = settings.db_pool_size or settings.thread_pool_size
        return _engines.Pools(sync_size=size, async_size=min(size, 10), timeout=self.pool_timeout)

    def _shared_memory(self) -> _engines.SharedMemory | None:
        if self._memory is None and _engines.is_memory(self.url):
            self._memory = _engines.SharedMemory()
        return self._memory

    @functools.cached_property
    def sync_engine(self) -> Engine:
        """The blocking engine (created on first use), for plain SQLAlchemy::

        with db.sync_engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
        """
        url = self._urls[1]
        return _engines.sync_engine(url, self.pools, self._shared_memory(), self.echo)

    @property
    def async_engine(self) -> AsyncEngine:
        """The async engine of the running event loop (outside one, the first engine)::

        async with db.async_engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

        Each loop that uses the database at the same time has an engine of its own
        (``_engines.LoopEngines``); one at a time, they share the first.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._async_engines.first
        return self._async_engines.here()

    def _make_async_engine(self) -> AsyncEngine:
        url = self._urls[2]
        return _engines.async_engine(url, self.pools, self._shared_memory(), self.echo)

    def make_sync_session(self) -> Session:
        """A new blocking session on this database (the unit of work calls this)."""
        if self._bound is not None:
            return UnitSession(
                bind=self._bound, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        replicas = self.replicas
        if replicas is not None:
            return _replicas.RoutedSession(
                self.sync_engine, expire_on_commit=False, kettle_replicas=replicas
            )
        return UnitSession(self.sync_engine, expire_on_commit=False)

    def make_async_session(self) -> AsyncSession:
        """A new async session; lazy loads in it raise ``RelationNotLoaded``."""
        if self._bound is not None:
            # NOTE: SQL runs on the bound (blocking) connection inside SQLAlchemy's
            # greenlet: one connection and one transaction for def and async code alike.
            session = AsyncSession(
                expire_on_commit=False,
                sync_session_class=AsyncOrmSession,
                join_transaction_mode="create_savepoint",
            )
            session.sync_session.bind = self._bound
            return session
        replicas = self.replicas
        if replicas is not None:
            return AsyncSession(
                self._async_engine_here(),
                expire_on_commit=False,
                sync_session_class=_replicas.RoutedAsyncOrmSession,
                kettle_replicas=replicas,
                kettle_async=True,
            )
        return AsyncSession(
            self._async_engine_here(), expire_on_commit=False, sync_session_class=AsyncOrmSession
        )

    def bind_to(self, connection: Connection | None) -> None:
        """Open every unit of work's sessions (``def`` and async code alike) on
        ``connection``, inside the transaction begun on it; None goes back to the pools.

        A unit's commit then only releases a savepoint: whoever began the transaction
        decides what stays. kettle.testing's ``db`` fixture rolls it back after each test::

            with engine.connect() as connection:
                outer = connection.begin()
                db.bind_to(connection)
                ...                      # requests, db.session(): all inside `outer`
                db.bind_to(None)
                outer.rollback()
        """
        self._bound = connection

    def primary(self) -> contextlib.AbstractContextManager[None]:
        """Read from the primary inside the block, even in a unit that has not written
        (without replicas, everything runs there anyway)::

            with db.primary():
                balance = Account.objects.get(id=id).balance   # never stale

        For one query, ``Account.objects.using("primary")`` does the same.
        """
        return _replicas.forced("primary")

    def _pins(self) -> _replicas.Pins | None:
        """What keeps a client that wrote on the primary for ``db_replica_pin_seconds``
        (docs/replicas.md, "Replication lag"); None without replicas, or with 0 seconds."""
        if self.app is None:
            return None
        settings = self.app.settings
        keys = [settings.secret_key, *settings.secret_key_fallbacks]
        return _replicas.pins(self.replicas, settings.db_replica_pin_seconds, keys)

    def _async_engine_here(self) -> AsyncEngine:
        """The async engine of the running event loop (see ``async_engine``)."""
        return self._async_engines.here()

    # --- units of work ---------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work for scripts, tests and the shell; commits unless the block raises::

        with db.session():
            Article.objects.create(title="Hello", author=ann)

        Inside a request it is a unit of its own, committed when the block ends.
        """
        token = units.begin(self)
        unit = units.current_unit()
        try:
            yield units.sync_session()
        except BaseException:
            _end_sync(unit, failed=True)
            raise
        else:
            _end_sync(unit, failed=False)
            _run_callbacks(unit)
        finally:
            units.reset(token)

    @contextlib.asynccontextmanager
    async def async_session(self) -> AsyncIterator[AsyncSession]:
        """``session()`` for async code::

        async with db.async_session():
            await Article.objects.acreate(title="Hello", author=ann)
        """
        token = units.begin(self)
        unit = units.current_unit()
        try:
            yield units.async_session()
        except BaseException:
            await self._end(unit, failed=True)
            raise
        else:
            await self._end(unit, failed=False)
        finally:
            units.reset(token)

    @functools.cached_property
    def _admission(self) -> Admission:
        assert self.app is not None
        size = 1 if _engines.is_memory(self.url) else self.pools.sync_size
        return Admission(self.app, size)

    def request_unit(self, request: Request) -> RequestUnit:
        """The per-request unit of work (installed by ``init_app``): ``async with``.

        Sessions open on first use, so a request that never queries costs nothing but
        a context variable set and reset (and, for a route with ``def`` code, an
        admission slot; see ``_admission``).
        """
        return RequestUnit(self, self._admission.slot(request))

    def command_unit(self) -> RequestUnit:
        """The unit of work of one ``kettle <command>`` (installed by ``init_app``), as
        a request's: committed when the command returns, rolled back when it raises::

            async with db.command_unit():
                Article.objects.create(title="Hello", author=ann)
        """
        return RequestUnit(self, None)

    async def _end(self, unit: units.UnitOfWork, failed: bool) -> None:
        """Commit (or roll back) and close the unit's sessions.

        A unit that used both kinds of session has two transactions, committed one
        after the other: the blocking one is rolled back if the async commit fails.
        """
        try:
            if unit.async_ is not None:
                await _end_async(unit.async_, failed)
        except BaseException:
            failed = True
            raise
        finally:
            if unit.sync is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._commit_pool(), _end_sync, unit, failed)
        if unit.commit_callbacks and not failed:
            loop = asyncio.get_running_loop()
            run = functools.partial(_run_callbacks, unit, in_loop=True)
            for waiting in await loop.run_in_executor(self._commit_pool(), run):
                with _kept_quiet("run an on_commit callback of"):
                    await waiting

    def _commit_pool(self) -> ThreadPoolExecutor:
        # NOTE: not the handler pool: a commit must never queue behind handlers that may
        # be waiting for the very locks (rows, SQLite's write lock) it releases.
        if self._commits is None:
            self._commits = ThreadPoolExecutor(COMMIT_THREADS, thread_name_prefix="kettle-db")
        return self._commits

    # --- schema helpers (tests and quick starts; use migrations in production) ----------------
    def create_all(self) -> None:
        """Create every table that does not exist yet (tests, quick starts)::

        db.create_all()
        """
        self.metadata.create_all(self.sync_engine)

    def drop_all(self) -> None:
        """Drop every table of the registered models."""
        self.metadata.drop_all(self.sync_engine)

    async def acreate_all(self) -> None:
        """``create_all()`` for async code."""
        async with self._async_engine_here().begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    def dispose(self) -> None:
        """Close every pooled connection: the blocking engine's, and the async engines' of
        event loops other than the running one (a ``TestClient``'s loop thread, say). Inside
        a running loop, ``await adispose()`` closes that loop's own.

        An in-memory SQLite database keeps its data: it lives as long as this object.
        """
        self._dispose_blocking()
        self._async_engines.dispose_other_loops()
        replicas = self.__dict__.get("replicas")
        if replicas is not None:
            replicas.dispose_other_loops()

    def _dispose_blocking(self) -> None:
        if "sync_engine" in self.__dict__:
            self.sync_engine.dispose()
        replicas = self.__dict__.get("replicas")
        if replicas is not None:
            replicas.dispose()

    async def adispose(self) -> None:
        """Close every pooled connection of the blocking engine and of this loop's async
        engine (run at shut-down; other loops' engines are theirs to close)."""
        self._dispose_blocking()
        engine = self._async_engines.current()  # other loops' engines are theirs to close
        if engine is not None:
            await engine.dispose()
        replicas = self.__dict__.get("replicas")
        if replicas is not None:
            await replicas.adispose()
        if self._commits is not None:
            self._commits.shutdown(wait=False)
            self._commits = None


class RequestUnit:
    """What ``Database.request_unit`` returns: the unit of work of one request.

    Committed when the block ends normally, rolled back when it raises; sessions the
    request never opened are neither.
    """

    # PERF: a plain class with slots, not an @asynccontextmanager generator: every
    # request of an app with a Database enters one, whether it queries or not.
    __slots__ = ("_database", "_slot", "_token", "_unit")

    def __init__(self, database: Database, slot: asyncio.Semaphore | None) -> None:
        self._database = database
        self._slot = slot

    async def __aenter__(self) -> None:
        if self._slot is not None:
            await self._slot.acquire()
        self._unit = units.UnitOfWork(self._database)
        self._token = units.enter(self._unit)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        unit = self._unit
        try:
            if unit.sync is not None or unit.async_ is not None or unit.commit_callbacks:
                await self._database._end(unit, failed=exc_type is not None)
        finally:
            units.reset(self._token)
            if self._slot is not None:
                self._slot.release()


class _RequestUnits:
    """The ``around_request`` hook ``init_app`` installs: ``hook(request)`` is the
    request's ``RequestUnit``, and ``wrap_route`` the same unit of work prepared once
    around the app's route runner (which the app uses when it builds its chain)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __call__(self, request: Request) -> RequestUnit:
        return self.database.request_unit(request)

    def wrap_route(self, inner: RouteRunner) -> RouteRunner:
        """``inner`` run inside a unit of work (what ``RequestUnit`` does, inline)."""
        database = self.database
        admission = database._admission
        # Read-your-writes across requests (docs/replicas.md): None without replicas.
        pins = database._pins()

        # PERF: one coroutine per request instead of `async with RequestUnit(...)`
        # (three coroutines and an object): every request of an app with a Database
        # passes here, whether it queries or not.
        async def run(route: Route, request: Request) -> Response:
            slot = admission.slot(request)
            if slot is not None:
                await slot.acquire()
            unit = units.UnitOfWork(database)
            token = units.enter(unit)
            pinned = None
            try:
                if pins is not None:
                    pinned = pins.enter(request)
                response = await inner(route, request)
            except BaseException:
                if unit.sync is not None or unit.async_ is not None:
                    await database._end(unit, failed=True)
                raise
            else:
                if unit.sync is not None or unit.async_ is not None or unit.commit_callbacks:
                    wrote = pins if pins is not None and _replicas.wrote(unit) else None
                    await database._end(unit, failed=False)
                    if wrote is not None:  # committed: the client reads from the primary
                        wrote.pin(request, response)
                return response
            finally:
                if pinned is not None:
                    _replicas.Pins.leave(pinned)
                units.reset(token)
                if slot is not None:
                    slot.release()

        return run


def _fast_path_default(echo: bool) -> bool:
    setting = os.environ.get("KETTLE_DB_FAST_PATH", "1").strip().lower()
    return not echo and setting not in ("0", "false", "no", "off")


def _end_sync(unit: units.UnitOfWork, failed: bool) -> None:
    if unit.sync is not None:
        _finish(unit.sync, failed)


def _run_callbacks(unit: units.UnitOfWork, in_loop: bool = False) -> list[Awaitable[object]]:
    """Run the unit's ``on_commit`` callbacks (it committed); returns the awaitables some
    returned, for the loop to await (``in_loop``; else they run here on a loop of their
    own). A failing callback is logged, not raised: the data is in."""
    waiting: list[Awaitable[object]] = []
    for callback in unit.commit_callbacks or ():
        with _kept_quiet("run an on_commit callback of"):
            result = callback()
            if inspect.isawaitable(result):
                waiting.append(result)
    unit.commit_callbacks = None
    if waiting and not in_loop:
        for awaitable in waiting:  # a sync unit of work (db.session()) has no loop to await on
            with _kept_quiet("run an on_commit callback of"):
                asyncio.run(_awaited(awaitable))
        return []
    return waiting


async def _awaited(awaitable: Awaitable[object]) -> object:
    return await awaitable


def _finish(session: Session, failed: bool) -> None:
    """Commit (or roll back) and close ``session``; cleaning up never hides the cause."""
    try:
        if not failed:
            if not _nothing_to_commit(session):
                session.commit()
            return
        with _kept_quiet("roll back"):
            session.rollback()
    finally:
        with _kept_quiet("close"):
            session.close()


def _nothing_to_commit(session: Session) -> bool:
    """Whether ``session`` holds no transaction that a commit would end: it never took a
    connection, or it only read through connections whose transaction never began
    (``_deferred``: PostgreSQL's autocommit reads, SQLite before its first write), and it
    has nothing to flush and no commit listener of its own. Closing it is then the commit.

    PERF: ``Session.commit()`` of a unit that only read (most GET requests) is ~20% of its
    unit of work's fixed cost (the flush check, the connections' COMMIT that the driver
    skips, the events); ``close()`` returns the connections all the same.
    """
    dispatch = session.dispatch
    if dispatch.before_commit or dispatch.after_commit or not session._is_clean():
        return False
    transaction = session._transaction
    if transaction is None:
        return True
    if transaction._parent is not None or transaction._state is not _ACTIVE:
        return False
    return all(entry[0].info.get(DEFERRED) for entry in transaction._connections.values())


async def _end_async(session: AsyncSession, failed: bool) -> None:
    # PERF: commit and close in one hop into SQLAlchemy's greenlet, not one each (what
    # AsyncSession.commit() and .close() do; each call below is the same sync method).
    await session.run_sync(_finish, failed)


@contextlib.contextmanager
def _kept_quiet(action: str) -> Iterator[None]:
    """Log, not raise, a failure to clean up, so the error that caused it is reported."""
    try:
        yield
    except Exception as error:
        log.warning("Could not %s a database session: %s", action, error)


__all__ = [
    "DRIVERS",
    "UNAVAILABLE",
    "Database",
    "DatabaseUnavailable",
    "RequestUnit",
    "split_url",
]
