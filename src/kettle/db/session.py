"""The unit of work: one database session per request (or per ``with db.session():``).

The current unit lives in a context variable, so ``def`` handlers (in the thread pool,
which copies the context) and ``async def`` handlers see the same one. Sessions are opened
lazily on first use: a request that never touches the database costs nothing.

Typed accessors::

    sync_session()    # sqlalchemy.orm.Session for def code
    async_session()   # sqlalchemy.ext.asyncio.AsyncSession for async code
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
    from sqlalchemy.orm import Session, SessionTransaction

    from kettle.db.database import Database

F = TypeVar("F", bound=Callable[..., Any])


class NoUnitOfWork(RuntimeError):
    """The database was used outside a request and outside ``db.session()``."""

    def __init__(self) -> None:
        super().__init__(
            "No database session is active here. Inside a request Kettle opens one for you; "
            "in scripts, tests and the shell wrap the work in `with db.session():` (or "
            "`async with db.async_session():`), where db is your kettle.db.Database."
        )


@dataclass(slots=True)
class UnitOfWork:
    """The sessions of one request; committed together on success, rolled back on error."""

    database: Database
    sync: Session | None = None
    async_: AsyncSession | None = None


_current: ContextVar[UnitOfWork | None] = ContextVar("kettle_db_unit_of_work", default=None)


def current_unit() -> UnitOfWork:
    """The active unit of work; raises ``NoUnitOfWork`` outside one."""
    unit = _current.get()
    if unit is None:
        raise NoUnitOfWork()
    return unit


def sync_session() -> Session:
    """The blocking session of the current unit of work (opened on first use)."""
    unit = current_unit()
    if unit.sync is None:
        unit.sync = unit.database.make_sync_session()
    return unit.sync


def async_session() -> AsyncSession:
    """The async session of the current unit of work (opened on first use)."""
    unit = current_unit()
    if unit.async_ is None:
        unit.async_ = unit.database.make_async_session()
    return unit.async_


def begin(database: Database) -> Token[UnitOfWork | None]:
    """Start a unit of work in the current context; pass the token to ``end``."""
    return _current.set(UnitOfWork(database))


def reset(token: Token[UnitOfWork | None]) -> None:
    """Forget the unit of work started with ``token`` (after ``finish``)."""
    _current.reset(token)


class atomic:
    """A transaction, or a savepoint inside one, that commits or rolls back as a block.

    Works as a decorator (on def and async def functions) and as a sync or async
    context manager::

        with atomic():
            article.save()
            Vote.objects.create(article=article, user=user)

        async with atomic():
            await article.asave()
    """

    def __init__(self) -> None:
        self._sync: SessionTransaction | None = None
        self._async: AsyncSessionTransaction | None = None

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with atomic():
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with atomic():
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]

    def __enter__(self) -> None:
        session = sync_session()
        self._sync = session.begin_nested() if session.in_transaction() else session.begin()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._sync is not None
        if exc is None:
            self._sync.commit()
        else:
            self._sync.rollback()

    async def __aenter__(self) -> None:
        session = async_session()
        self._async = session.begin_nested() if session.in_transaction() else session.begin()
        await self._async.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._async is not None
        if exc is None:
            await self._async.commit()
        else:
            await self._async.rollback()


__all__ = [
    "NoUnitOfWork",
    "UnitOfWork",
    "async_session",
    "atomic",
    "current_unit",
    "sync_session",
]
