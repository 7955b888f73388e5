"""Read replicas: a unit of work reads from a replica until it writes, then from the primary.

``Database(app, replicas=[...])`` (or ``DATABASE_REPLICA_URLS``) makes every unit of work's
session a routed one (``RoutedSession``). Its ``get_bind`` picks the server of each
statement:

- a plain SELECT (no ``FOR UPDATE``/``FOR SHARE``) of a unit that has not written runs on
  a replica: one per unit, the next healthy one in turn, so the reads of a unit see one
  server's view;
- anything else (a flush, an INSERT/UPDATE/DELETE, ``select_for_update()``, raw SQL, a
  bare ``session.connection()``, ``atomic()``) runs on the primary and *pins* the unit
  there: every later statement of the unit, reads included, goes to the primary, so it
  reads its own writes;
- ``QuerySet.using("primary")`` and ``with db.primary():`` send reads to the primary
  without pinning; ``QuerySet.using("replica")`` reads from a replica even after a write.

Objects keep working across the switch: there is one session (one identity map) with a
connection per server, so an object read from a replica is saved on the primary.

A replica that cannot be reached is marked down for ``Replicas.retry_after`` seconds
(logged once per outage; health is per process): the read goes to the next replica, or
to the primary, never to an error page. A replica lost in the middle of a unit's read
fails that read like a lost primary would (a 503); the units after it skip the replica.

Across requests, ``Pins`` keeps a client that wrote on the primary for a few seconds
(``db_replica_pin_seconds``): the response of a request whose unit wrote carries a signed
cookie saying until when, and that client's requests read from the primary until then, so
the page after a POST shows what it saved even while the replicas lag.

PERF: none of this exists without replicas: ``Database`` makes plain ``UnitSession``s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, ExceptionContext
from sqlalchemy.orm import Session, SessionTransaction

from kettle.db import _engines
from kettle.db._deferred import UnitSession
from kettle.db._lazyload import AsyncOrmSession
from kettle.db._unavailable import DatabaseUnavailable
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from contextvars import Token

    from sqlalchemy.ext.asyncio import AsyncEngine

    from kettle.db.session import UnitOfWork
    from kettle.requests import Request
    from kettle.responses.base import Response

log = logging.getLogger("kettle.db")

#: Where a statement may be sent: ``QuerySet.using(...)`` and ``Database.primary()``.
Route = Literal["primary", "replica"]
ROUTES: tuple[Route, ...] = ("primary", "replica")
#: Seconds a replica that could not be reached is left alone before it is tried again.
RETRY_SECONDS = 10.0
#: Seconds to wait for a replica to accept a connection (unless its URL says otherwise).
CONNECT_TIMEOUT = 3
#: The connect argument of each driver that bounds the wait for a new connection.
_TIMEOUTS = {
    "psycopg": "connect_timeout",
    "asyncpg": "timeout",
    "pymysql": "connect_timeout",
    "aiomysql": "connect_timeout",
}
#: The execution option ``QuerySet.using()`` puts on its statements.
ROUTE_OPTION = "kettle_route"
#: ``Session.connection(bind_arguments=...)`` for reads that have no statement yet (the
#: compiled fast path), per route. PERF: made once; ``Session.connection`` only pops a
#: "bind" key from them, which they never hold. A plain ``UnitSession`` ignores them.
READS: dict[Route | None, dict[str, Any]] = {
    None: {"kettle_read": True},
    "primary": {"kettle_read": True, "kettle_route": "primary"},
    "replica": {"kettle_read": True, "kettle_route": "replica"},
}
#: The cookie that keeps a client that wrote on the primary: ``<until>.<signature>``.
PIN_COOKIE = "kettle_primary"
_forced: ContextVar[Route | None] = ContextVar("kettle_db_route", default=None)
_READS = frozenset({"select", "compound_select"})


class Replica:
    """One replica: its engines (made on first use) and its health."""

    def __init__(self, url: URL, owner: Replicas) -> None:
        self.sync_url, self.async_url = _engines.split_url(url)
        #: Host, port and database, for logs (never the password).
        self.name = url.render_as_string(hide_password=True)
        self._owner = owner
        self._sync: Engine | None = None
        self.async_engines = _engines.LoopEngines(self._make_async)
        #: ``time.monotonic()`` until which the replica is skipped; 0.0: healthy.
        self.down_until = 0.0

    @property
    def sync_engine(self) -> Engine:
        """The blocking engine (made on first use)."""
        if self._sync is None:
            owner = self._owner
            bounded = _bounded(self.sync_url, owner.connect_timeout)
            self._sync = _engines.sync_engine(self.sync_url, owner.pools, None, owner.echo, bounded)
            self._watch(self._sync)
        return self._sync

    def _make_async(self) -> AsyncEngine:
        owner = self._owner
        bounded = _bounded(self.async_url, owner.connect_timeout)
        engine = _engines.async_engine(self.async_url, owner.pools, None, owner.echo, bounded)
        self._watch(engine.sync_engine)
        return engine

    def _watch(self, engine: Engine) -> None:
        """Mark the replica down on a connection lost in the middle of a read as well:
        that read fails (a 503), and the units after it keep off the replica."""
        owner = self._owner

        def lost(context: ExceptionContext) -> None:
            if context.is_disconnect and not context.is_pre_ping:
                owner.mark_down(self, context.original_exception)

        event.listen(engine, "handle_error", lost)

    def engine_for(self, is_async: bool) -> Engine:
        """The engine a session binds to: the blocking one, or the running loop's async
        engine's ``sync_engine`` (what an ``AsyncSession``'s inner session uses)."""
        return self.async_engines.here().sync_engine if is_async else self.sync_engine

    def dispose(self) -> None:
        """Close the blocking engine's pooled connections."""
        if self._sync is not None:
            self._sync.dispose()

    def dispose_other_loops(self) -> None:
        """Close the pooled connections of other event loops' async engines."""
        self.async_engines.dispose_other_loops()

    async def adispose(self) -> None:
        """Close the pooled connections of this loop's async engine."""
        engine = self.async_engines.current()
        if engine is not None:
            await engine.dispose()


class Replicas:
    """The replicas of one ``Database`` and their health in this process::

    replicas = Replicas([make_url("postgresql://app@replica1/news")], pools, echo=False)
    replicas.retry_after = 2.0     # seconds a replica that is down is left alone
    replicas.connect_timeout = 1   # seconds to wait for a new connection
    """

    def __init__(self, urls: Sequence[URL], pools: _engines.Pools, echo: bool) -> None:
        self.pools = pools
        self.echo = echo
        self.all = tuple(Replica(url, self) for url in urls)
        self.retry_after = RETRY_SECONDS
        #: Whole seconds (libpq counts no less than 2); read when an engine is made.
        self.connect_timeout: int = CONNECT_TIMEOUT
        self._turn = itertools.count()

    def in_turn(self) -> Iterator[Replica]:
        """The replicas not marked down, starting with the next one in turn."""
        replicas = self.all
        start = next(self._turn) % len(replicas)
        now = time.monotonic()
        for replica in (*replicas[start:], *replicas[:start]):
            if replica.down_until <= now:
                yield replica

    def mark_down(self, replica: Replica, error: BaseException) -> None:
        """Skip ``replica`` for ``retry_after`` seconds; logs the first failure of an outage."""
        if not replica.down_until:
            log.warning(
                "The read replica %s is unreachable; reads go to the other replicas or "
                "the primary, and it is tried again every %gs: %s",
                replica.name,
                self.retry_after,
                error,
            )
        replica.down_until = time.monotonic() + self.retry_after

    def mark_up(self, replica: Replica) -> None:
        """``replica`` answered again after an outage."""
        replica.down_until = 0.0
        log.warning("The read replica %s is reachable again.", replica.name)

    def dispose(self) -> None:
        """Close every replica's blocking pooled connections."""
        for replica in self.all:
            replica.dispose()

    def dispose_other_loops(self) -> None:
        """Close every replica's async pooled connections of other event loops."""
        for replica in self.all:
            replica.dispose_other_loops()

    async def adispose(self) -> None:
        """Close every replica's async pooled connections (of this loop's engines)."""
        for replica in self.all:
            await replica.adispose()


def configured(
    primary: URL, urls: Sequence[str | URL], source: str, pools: _engines.Pools, echo: bool
) -> Replicas:
    """The ``Replicas`` for ``urls`` (from ``source``, named in errors), checked against
    the ``primary``'s URL: same kind of database, and not SQLite."""
    backend = primary.get_backend_name()
    if backend == "sqlite":
        raise ConfigurationError(
            f"Read replicas are configured ({source}) but the database is SQLite, which has "
            "none: a copy of its file would not follow the writes. Remove the replica URLs, "
            "or use PostgreSQL or MariaDB."
        )
    parsed = []
    for url in urls:
        try:
            replica = _engines.parse_url(url)
            kind = _engines.split_url(replica)[0].get_backend_name()
        except ConfigurationError as error:
            raise ConfigurationError(f"{error} (A replica URL, from {source}.)") from None
        if kind != backend:
            raise ConfigurationError(
                f"The replica {replica.render_as_string(hide_password=True)!r} (from {source}) "
                f"is {kind}, but the primary database is {backend}; a replica must be a copy "
                "of the primary."
            )
        parsed.append(replica)
    return Replicas(parsed, pools, echo)


class _Routing(Session):
    """What the routed sessions add to Kettle's ``UnitSession`` (see the module docstring)."""

    def __init__(
        self, *args: Any, kettle_replicas: Replicas, kettle_async: bool = False, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.kettle_replicas = kettle_replicas
        self.kettle_async = kettle_async
        #: The unit wrote (or asked for the primary for good): the primary from here on.
        self.kettle_pinned = False
        #: The replica this unit reads from, once picked.
        self.kettle_replica: Engine | None = None

    def get_bind(
        self,
        mapper: Any = None,
        *,
        clause: Any = None,
        kettle_read: bool = False,
        kettle_route: Route | None = None,
        **kw: Any,
    ) -> Any:
        """The engine for a statement: a replica for reads before the unit's first write,
        the primary for everything else (see the module docstring)."""
        primary = self.bind
        if clause is not None:
            if not _reads_only(clause):
                self.kettle_pinned = True
                return primary
            kettle_route = clause._execution_options.get(ROUTE_OPTION, kettle_route)
        elif not kettle_read:  # a flush, or session.connection() for SQL of its own
            self.kettle_pinned = True
            return primary
        route = kettle_route or _forced.get()
        if route == "primary" or (self.kettle_pinned and route != "replica"):
            return primary
        return self._replica() or primary

    def _replica(self) -> Engine | None:
        """The unit's replica, connected; None when every replica is down."""
        if self.kettle_replica is not None:
            return self.kettle_replica
        replicas = self.kettle_replicas
        for replica in replicas.in_turn():
            engine = replica.engine_for(self.kettle_async)
            try:
                # The connection joins the session's transaction now, so a replica that
                # is down shows here, while another server can still take the read.
                self.connection(bind_arguments={"bind": engine})
            except (DatabaseUnavailable, sa_exc.TimeoutError) as error:
                replicas.mark_down(replica, error)
                continue
            if replica.down_until:
                replicas.mark_up(replica)
            self.kettle_replica = engine
            return engine
        return None


class RoutedSession(_Routing, UnitSession):
    """A unit of work's blocking session when the database has replicas."""


class RoutedAsyncOrmSession(_Routing, AsyncOrmSession):
    """The session inside a unit of work's ``AsyncSession`` when the database has replicas."""


@event.listens_for(_Routing, "after_transaction_create")
def _pin_savepoints(session: Session, transaction: SessionTransaction) -> None:
    # atomic() (a SAVEPOINT) is where writes happen, and its reads usually decide them:
    # the block, and the rest of the unit, run on the primary.
    if transaction.nested:
        cast(_Routing, session).kettle_pinned = True


class Pins:
    """Read-your-writes across requests (see the module docstring)::

        pins = Pins(5, [settings.secret_key, *settings.secret_key_fallbacks])
        token = pins.enter(request)      # primary reads if the request carries a pin
        ...                              # the handler runs
        if wrote(unit):
            pins.pin(request, response)  # Set-Cookie: kettle_primary=<until>.<signature>

    The cookie says until when (Unix time) the client reads from the primary, signed with
    the secret key (the first of ``keys``; the others still verify, as when rotating it) so
    a client cannot pin itself for longer; it holds nothing else.
    """

    __slots__ = ("_keys", "seconds")

    def __init__(self, seconds: int, keys: Sequence[str]) -> None:
        self.seconds = seconds
        # A key of its own per secret, so these signatures are never valid anywhere else.
        self._keys = tuple(
            hmac.new(key.encode(), b"kettle.db.primary-pin", hashlib.sha256).digest()
            for key in keys
        )

    def enter(self, request: Request) -> Token[Route | None] | None:
        """Send the request's reads to the primary if it carries a valid, unexpired pin;
        the token is for ``leave`` (None: the request reads as usual)."""
        value = request.cookies.get(PIN_COOKIE)
        if value is None or not self._valid(value):
            return None
        return _forced.set("primary")

    @staticmethod
    def leave(token: Token[Route | None]) -> None:
        """End what ``enter`` began."""
        _forced.reset(token)

    def pin(self, request: Request, response: Response) -> None:
        """Pin the client of ``request`` to the primary for ``seconds`` from now."""
        until = str(math.ceil(time.time()) + self.seconds)
        response.set_cookie(
            PIN_COOKIE,
            f"{until}.{self._signature(self._keys[0], until)}",
            max_age=self.seconds,
            secure=request.scheme == "https",
            httponly=True,
        )

    def _valid(self, value: str) -> bool:
        # Whatever the client sent: anything but ASCII digits, a dot and the signature is
        # no pin (never an error).
        until, _, signature = value.partition(".")
        if not (0 < len(until) <= 12 and until.isascii() and until.isdigit()):
            return False
        if int(until) < time.time():
            return False
        given = signature.encode("utf-8", "replace")
        return any(
            hmac.compare_digest(given, self._signature(key, until).encode()) for key in self._keys
        )

    @staticmethod
    def _signature(key: bytes, until: str) -> str:
        digest = hmac.new(key, until.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pins(replicas: Replicas | None, seconds: int, keys: Sequence[str]) -> Pins | None:
    """The ``Pins`` of a database with ``replicas``, or None: without replicas, or with
    ``seconds`` 0 (the ``db_replica_pin_seconds`` setting), there is nothing to pin."""
    if seconds < 0:
        raise ConfigurationError(
            f"db_replica_pin_seconds (KETTLE_DB_REPLICA_PIN_SECONDS) cannot be negative, got "
            f"{seconds}; set it to 0 to read from the replicas right after a write."
        )
    if replicas is None or seconds == 0:
        return None
    return Pins(seconds, keys)


def wrote(unit: UnitOfWork) -> bool:
    """Whether ``unit`` wrote (or otherwise went to the primary for good: ``atomic()``,
    raw SQL, row locks), in its blocking or its async session."""
    sync = unit.sync
    if sync is not None and getattr(sync, "kettle_pinned", False):
        return True
    async_ = unit.async_
    return async_ is not None and getattr(async_.sync_session, "kettle_pinned", False)


@contextlib.contextmanager
def forced(route: Route) -> Iterator[None]:
    """Send the reads of the block to ``route`` (``Database.primary()`` uses it)."""
    token = _forced.set(route)
    try:
        yield
    finally:
        _forced.reset(token)


def check_route(route: str) -> Route:
    """``route`` if it is ``"primary"`` or ``"replica"``, else a ``ValueError`` saying so."""
    if route not in ROUTES:
        raise ValueError(f"using({route!r}): the database to read from is 'primary' or 'replica'.")
    return route


def _bounded(url: URL, seconds: int) -> dict[str, Any]:
    """The driver's connect argument that bounds the wait for a new connection, unless
    ``url`` sets it: a replica whose host is gone answers nothing, and without a bound
    every unit of work would wait minutes for the kernel to give up on it."""
    name = _TIMEOUTS.get(url.get_driver_name())
    if name is None or name in url.query:
        return {}
    return {name: seconds}


def _reads_only(clause: Any) -> bool:
    """Whether ``clause`` is a SELECT that takes no row locks (so a replica can run it)."""
    return (
        getattr(clause, "__visit_name__", None) in _READS
        and getattr(clause, "_for_update_arg", None) is None
    )


__all__ = [
    "CONNECT_TIMEOUT",
    "PIN_COOKIE",
    "READS",
    "RETRY_SECONDS",
    "ROUTES",
    "ROUTE_OPTION",
    "Pins",
    "Replica",
    "Replicas",
    "Route",
    "RoutedAsyncOrmSession",
    "RoutedSession",
    "check_route",
    "configured",
    "forced",
    "pins",
    "wrote",
]
