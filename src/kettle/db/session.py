"""The unit of work: one database session per request (or per ``with db.session():``).

The current unit lives in a context variable, so ``def`` handlers (in the thread pool,
which copies the context) and ``async def`` handlers see the same one. Sessions are opened
lazily on first use: a request that never touches the database costs nothing.

Typed accessors::

    sync_session()    # sqlalchemy.orm.Session for def code
    async_session()   # sqlalchemy.ext.asyncio.AsyncSession for async code

A unit that uses both (a ``def`` hook before an ``async def`` handler) has two sessions
on two connections, so two transactions: each sees only its own uncommitted writes.
Keep the code of one request on one side where it writes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
    from sqlalchemy.orm import Session, SessionTransaction

    from kettle.db.database import Database

F = TypeVar("F", bound=Callable[..., Any])


class NoUnitOfWork(RuntimeError):
    """The database was used outside a request and outside ``db.session()``::

    Article.objects.count()          # in a script: NoUnitOfWork, saying what to do
    with db.session():
        Article.objects.count()      # fine
    """

    def __init__(self) -> None:
        super().__init__(
            "No database session is active here. Inside a request Kettle opens one for you; "
            "in scripts, tests and the shell wrap the work in `with db.session():` (or "
            "`async with db.async_session():`), where db is your kettle.db.Database."
        )


@dataclass(slots=True)
class UnitOfWork:
    """The sessions of one request: committed at its end on success, rolled back on error."""

    #: The database the unit of work talks to (``with db.session():`` gives ``db``).
    database: Database
    #: The blocking SQLAlchemy session, opened by the first ``sync_session()``; None
    #: until then.
    sync: Session | None = None
    #: The async SQLAlchemy session, opened by the first ``async_session()``; None until
    #: then.
    async_: AsyncSession | None = None
    #: What ``on_commit`` registered, run after the unit commits (None: nothing).
    commit_callbacks: list[Callable[[], object]] | None = None


_current: ContextVar[UnitOfWork | None] = ContextVar("kettle_db_unit_of_work", default=None)


def current_unit() -> UnitOfWork:
    """The active unit of work; raises ``NoUnitOfWork`` outside one::

    with db.session():
        assert current_unit().database is db
    """
    unit = _current.get()
    if unit is None:
        raise NoUnitOfWork()
    return unit


def active_unit() -> UnitOfWork | None:
    """The active unit of work, or None outside one (``current_unit`` raises instead)::

    if active_unit() is None:
        ...  # not in a request, not in db.session()
    """
    return _current.get()


def on_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the current unit of work commits; never if it rolls back.

    Outside a unit of work it runs at once. A callback may return an awaitable (awaited
    when the unit ends in async code); an error in one is logged, not raised, since the
    unit's writes are already committed. Use it to act on what a request wrote only once
    it is durable, such as sending a message to a broker::

        with db.session():
            order = Order.objects.create(total=10)
            on_commit(lambda: notify(order.id))    # after the commit
    """
    unit = _current.get()
    if unit is None:
        callback()
        return
    if unit.commit_callbacks is None:
        unit.commit_callbacks = []
    unit.commit_callbacks.append(callback)


def sync_session() -> Session:
    """The blocking session of the current unit of work (opened on first use)::

    sync_session().execute(sa.update(Article).values(score=0))
    """
    unit = current_unit()
    if unit.sync is None:
        unit.sync = unit.database.make_sync_session()
    return unit.sync


def async_session() -> AsyncSession:
    """The async session of the current unit of work (opened on first use)::

    await async_session().execute(sa.update(Article).values(score=0))
    """
    unit = current_unit()
    if unit.async_ is None:
        unit.async_ = unit.database.make_async_session()
    return unit.async_


def begin(database: Database) -> Token[UnitOfWork | None]:
    """Start a unit of work in the current context; pass the token to ``reset``."""
    return _current.set(UnitOfWork(database))


def enter(unit: UnitOfWork) -> Token[UnitOfWork | None]:
    """Make ``unit`` the current unit of work; pass the token to ``reset``."""
    return _current.set(unit)


def reset(token: Token[UnitOfWork | None]) -> None:
    """Forget the unit of work started with ``token`` (after committing or rolling back)."""
    _current.reset(token)


@overload
def atomic(fn: F, /) -> F: ...
@overload
def atomic(fn: None = None, /) -> Atomic: ...
def atomic(fn: F | None = None, /) -> F | Atomic:
    """A block that commits or rolls back as one, inside the current unit of work.

    Usable bare or called as a decorator (on ``def`` and ``async def`` functions) and as
    a sync or async context manager. It is a SAVEPOINT: when the block raises, only its
    own writes are undone and the exception propagates; the request's unit of work still
    decides, at its end, whether everything is committed::

        with atomic():
            article.save()
            Vote.objects.create(article=article, user=user)

        async with atomic():
            await article.asave()

        @atomic
        def transfer(source, target, amount): ...
    """
    block = Atomic()
    return block if fn is None else block(fn)


class Atomic:
    """What ``atomic()`` returns (see there); each ``with`` opens a new savepoint."""

    def __init__(self) -> None:
        # A stack, so one instance may be entered again while open (recursion, nesting).
        self._sync: list[SessionTransaction] = []
        self._async: list[AsyncSessionTransaction] = []

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with Atomic():
                    return await fn(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with Atomic():
                return fn(*args, **kwargs)

        return cast(F, run)

    def __enter__(self) -> Session:
        session = sync_session()
        self._sync.append(session.begin_nested())
        return session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The transaction's own exit commits, or rolls back and lets the error through.
        self._sync.pop().__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> AsyncSession:
        session = async_session()
        transaction = session.begin_nested()
        await transaction.__aenter__()
        self._async.append(transaction)
        return session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._async.pop().__aexit__(exc_type, exc, tb)


__all__ = [
    "Atomic",
    "NoUnitOfWork",
    "UnitOfWork",
    "active_unit",
    "async_session",
    "atomic",
    "current_unit",
    "on_commit",
    "sync_session",
]
