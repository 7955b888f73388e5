"""Telling "the database is unreachable" apart from every other database error.

Engines made by ``Database`` raise ``DatabaseUnavailable`` when a connection cannot be
opened or is lost (the server stopped, restarted or is cut off), and ``Database`` answers
it, and an exhausted connection pool, with a 503 whose body names no driver and no host.
Other errors (a missing table, a violated constraint) stay what they are: bugs, 500s.

Pooled connections are checked before use (``_liveness``), so the first request after
the server is back gets a fresh connection: a database restart needs no restart of Kettle.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, ExceptionContext

from kettle.exceptions import HTTPException

if TYPE_CHECKING:
    from kettle.requests import Request

log = logging.getLogger("kettle.db")

#: The body of the 503: nothing about drivers, hosts or ports reaches the client.
DETAIL = "The service is temporarily unavailable; please try again in a moment."


class DatabaseUnavailable(exc.OperationalError):
    """The database could not be reached; a request that needed it gets a 503.

    Still an ``sqlalchemy.exc.OperationalError``, so existing ``except`` clauses match::

        try:
            Article.objects.count()
        except DatabaseUnavailable:
            ...  # the server is down or restarting
    """


#: Errors answered with 503: the database is unreachable, or no connection is free.
UNAVAILABLE: tuple[type[BaseException], ...] = (DatabaseUnavailable, exc.TimeoutError)


def watch(engine: Engine) -> None:
    """Make ``engine`` raise ``DatabaseUnavailable`` for lost and refused connections."""
    event.listen(engine, "handle_error", _classify)
    event.listen(engine, "do_connect", _connect)


def _classify(context: ExceptionContext) -> BaseException | None:
    # A failed pre-ping is handled by the pool (it reconnects); leave it alone. Exit
    # exceptions (a cancelled request) also count as disconnects, but are not wrapped.
    if context.is_pre_ping or context.sqlalchemy_exception is None:
        return None
    if not (context.is_disconnect or context.connection is None):
        return None  # an error in the SQL or the data, not in reaching the server
    return DatabaseUnavailable(
        context.statement,
        None,
        context.original_exception,
        hide_parameters=True,
        connection_invalidated=context.is_disconnect,
    )


def _connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    # NOTE: a driver error here reaches _classify (there is no connection yet); asyncpg
    # raises socket errors (ConnectionRefusedError, OSError) as they are, so wrap those.
    try:
        return dialect.connect(*cargs, **cparams)
    except dialect.loaded_dbapi.Error:
        raise
    except Exception as error:
        raise DatabaseUnavailable(None, None, error, hide_parameters=True) from error


async def respond_unavailable(request: Request, error: BaseException) -> NoReturn:
    """The error handler ``Database`` registers for ``UNAVAILABLE``: log, answer 503."""
    where = f"{request.method} {request.path}"
    if isinstance(error, DatabaseUnavailable):
        log.error("The database is unreachable (%s): %s", where, error)
    else:  # the pool's TimeoutError: every connection stayed busy for pool_timeout
        log.error("No database connection became free in time (%s): %s", where, error)
    raise HTTPException(503, DETAIL, {"retry-after": "5"})


__all__ = ["DETAIL", "UNAVAILABLE", "DatabaseUnavailable", "respond_unavailable", "watch"]
