"""Reads at the driver's pace: compiled shapes run on the unit of work's own connection.

``QuerySet`` reads ask here first. A shape compiled once (``_compiled``) runs on the
driver connection under the session's SQLAlchemy connection, so in the same transaction
as every other statement of the unit of work; its rows become objects registered in the
session (``_hydrate``). Whatever this module declines (None) takes SQLAlchemy's path::

    rows = fetch(qs)                  # def code; await afetch(qs) in async code
    if rows is None:
        rows = ...                    # Session.execute, as before

It declines when the ``Database`` was made with ``fast_path=False`` (or
``KETTLE_DB_FAST_PATH=0``), when the session holds changes to flush first (autoflush),
has ``do_orm_execute`` or ``loaded_as_persistent`` listeners of its own, or for a shape
``_compiled`` does not cover. Prepared statements come from the drivers: asyncpg through
SQLAlchemy's own statement cache of the connection, psycopg after its prepare threshold,
sqlite3 from its statement cache. Driver errors go through the connection's
``_handle_dbapi_exception``, so an unreachable database is the same ``DatabaseUnavailable``
(a 503) as on SQLAlchemy's path. The connection is asked for as a read's (``READS``), so
with read replicas it is a replica's until the unit of work writes (``_replicas``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.session import SessionTransactionState
from sqlalchemy.util import greenlet_spawn

from kettle.db._compiled import (
    CACHE,
    UNCOVERED,
    Shape,
    compile_count,
    compile_queryset,
    compile_statement,
    count_key,
    dialect_key,
    queryset_key,
)
from kettle.db._deferred import READ_NOOPS
from kettle.db._hydrate import Uncovered
from kettle.db._lazyload import _refuse_lazy_load
from kettle.db._replicas import READS
from kettle.db.session import async_session, current_unit, sync_session

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from kettle.db.query import QuerySet

Rows = tuple[Sequence[Any], Sequence[Any] | None]


def fetch(qs: QuerySet[Any]) -> list[Any] | None:
    """The results of ``qs`` in ``def`` code, or None to take SQLAlchemy's path."""
    # PERF: the unit of work is looked up once (current_unit(), then its session as
    # sync_session() would return it).
    unit = current_unit()
    if not unit.database.fast_path:
        return None
    session = unit.sync or sync_session()
    if not _ready(session):
        return None
    connection = _held(session) or session.connection(READS[qs._using])
    return _run_sync(connection, session, *_queryset_shape(qs, connection, False))


def fetch_count(qs: QuerySet[Any]) -> int | None:
    """``qs.count()`` in ``def`` code, or None to take SQLAlchemy's path."""
    unit = current_unit()
    if not unit.database.fast_path:
        return None
    session = unit.sync or sync_session()
    if not _ready(session):
        return None
    connection = _held(session) or session.connection(READS[qs._using])
    rows = _run_sync(connection, session, *_queryset_shape(qs, connection, True))
    return None if rows is None else int(rows[0] or 0)


def fetch_statement(stmt: Any, params: dict[str, Any], values: Any = None) -> list[Any] | None:
    """The objects of a memoised ``get()`` statement (``get_by_equality``), or None;
    ``values``: ``(shape, names)`` when the QuerySet reads ``values()`` rows."""
    unit = current_unit()
    if not unit.database.fast_path:
        return None
    session = unit.sync or sync_session()
    if not _ready(session):
        return None
    connection = _held(session) or session.connection(READS[None])
    return _run_sync(connection, session, *_statement_shape(stmt, params, connection, values))


async def afetch(qs: QuerySet[Any]) -> list[Any] | None:
    """``fetch`` for async code."""
    return await _afetch(qs, False)


async def afetch_count(qs: QuerySet[Any]) -> int | None:
    """``fetch_count`` for async code."""
    rows = await _afetch(qs, True)
    return None if rows is None else int(rows[0] or 0)


async def _afetch(qs: QuerySet[Any], count: bool) -> list[Any] | None:
    unit = current_unit()
    if not unit.database.fast_path:
        return None
    session = (unit.async_ or async_session()).sync_session
    if not _ready(session):
        return None
    connection = _held(session)
    if connection is None:
        connection = await greenlet_spawn(session.connection, READS[qs._using])
    return await _run_async(connection, session, *_queryset_shape(qs, connection, count))


async def afetch_statement(
    stmt: Any, params: dict[str, Any], values: Any = None
) -> list[Any] | None:
    """``fetch_statement`` for async code."""
    unit = current_unit()
    if not unit.database.fast_path:
        return None
    session = (unit.async_ or async_session()).sync_session
    if not _ready(session):
        return None
    connection = _held(session)
    if connection is None:
        connection = await greenlet_spawn(session.connection, READS[None])
    return await _run_async(
        connection, session, *_statement_shape(stmt, params, connection, values)
    )


def _ready(session: Session) -> bool:
    """Whether the session lets a read skip its ORM execution: nothing to autoflush, and
    no listener of its own that would miss the statement."""
    if session.autoflush and not session._is_clean():
        return False
    dispatch = session.dispatch
    if dispatch.loaded_as_persistent:
        return False
    # PERF: a loop, not all() over a generator (~1 µs less a read).
    for listener in dispatch.do_orm_execute:  # noqa: SIM110 (PERF, above)
        if listener is not _refuse_lazy_load:
            return False
    return True


def _held(session: Session) -> Connection | None:
    """The connection the session's transaction already holds for its one bind, as
    ``Session.connection()`` would return it; None where that call has more to do (no
    transaction or connection yet, a transaction not active, routing to replicas, several
    binds): the caller then makes it.

    PERF: in async code, ``Session.connection()`` needs a greenlet (~10% of an ``aget``)
    for the I/O it might do; a connection already held needs none.
    """
    transaction = session._transaction
    if (
        transaction is None
        or transaction._state is not _ACTIVE
        or session._trans_context_manager is not None
        or type(session).get_bind is not _GET_BIND
        or session.binds
    ):
        return None
    held = transaction._connections.get(session.bind)  # type: ignore[arg-type]
    return None if held is None else held[0]


def _queryset_shape(qs: QuerySet[Any], connection: Connection, count: bool) -> tuple[Any, Any, Any]:
    dialect = connection.dialect
    if dialect.driver not in _DRIVERS:
        return None, None, None
    found = (count_key if count else queryset_key)(qs, dialect_key(dialect))
    if found is None:
        return None, None, None
    key, values = found
    shape = CACHE.get(key)
    if shape is None:
        shape = (compile_count if count else compile_queryset)(key, qs, dialect)
    return key, shape, values


def _statement_shape(
    stmt: Any, params: dict[str, Any], connection: Connection, values: Any
) -> tuple[Any, Any, Any]:
    dialect = connection.dialect
    if dialect.driver not in _DRIVERS:
        return None, None, None
    key = (stmt, dialect_key(dialect))
    shape = CACHE.get(key)
    if shape is None:
        shape = compile_statement(key, stmt, tuple(params), dialect, values)
    return key, shape, list(params.values())


def _run_sync(
    connection: Connection, session: Session, key: Any, shape: Any, values: Any
) -> list[Any] | None:
    if shape is None or shape is UNCOVERED:
        return None
    sql, params = shape.run_with(values)
    context = _announce(connection, shape, sql, params)
    try:
        rows, description = _SYNC[connection.dialect.driver](
            connection.connection, sql, params, shape.hydrator is None
        )
    except Exception as error:
        connection._handle_dbapi_exception(error, sql, params, None, None)
        raise
    if context is not None:
        _after(connection, context)
    return _hydrate(connection, session, key, shape, rows, description)


async def _run_async(
    connection: Connection, session: Session, key: Any, shape: Any, values: Any
) -> list[Any] | None:
    if shape is None or shape is UNCOVERED:
        return None
    if not connection.dialect.is_async:
        # A session bound to a blocking connection (Database.bind_to in tests): SQLAlchemy
        # itself runs such a session's SQL on it, blocking, inside its greenlet.
        return _run_sync(connection, session, key, shape, values)
    sql, params = shape.run_with(values)
    context = _announce(connection, shape, sql, params)
    try:
        run = _ASYNC[connection.dialect.driver]
        rows, description = await run(connection, sql, params, shape.hydrator is None)
    except Exception as error:
        error = _translated(connection, error)
        await greenlet_spawn(connection._handle_dbapi_exception, error, sql, params, None, None)
        raise
    if context is not None:
        _after(connection, context)
    return _hydrate(connection, session, key, shape, rows, description)


class _Context:
    """What ``before_cursor_execute`` listeners get as the execution context of a
    fast-path statement: its compiled form, SQL and parameters (there is no cursor)."""

    __slots__ = (
        "compiled",
        "connection",
        "dialect",
        "invoked_statement",
        "parameters",
        "statement",
    )

    isinsert = isupdate = isdelete = is_crud = executemany = False
    cursor = None

    def __init__(self, connection: Connection, shape: Shape, sql: str, params: Any) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.compiled = shape.statement
        self.invoked_statement = shape.statement.statement
        self.statement = sql
        self.parameters = [params]

    @property
    def execution_options(self) -> Any:
        return self.connection._execution_options


def _announce(connection: Connection, shape: Shape, sql: str, params: Any) -> _Context | None:
    """Run the engine's ``before_cursor_execute`` listeners, as SQLAlchemy would (statement
    counting in kettle.testing, Kettle's deferred BEGIN, your own); the context for
    ``_after``, or None when nothing listens.

    PERF: when the only listener is Kettle's deferred BEGIN, which does nothing for a plain
    SELECT (every fast-path statement is one), nothing is called and no context is made.
    """
    dispatch = connection.dispatch
    if not dispatch.after_cursor_execute:
        for listener in dispatch.before_cursor_execute:
            if listener not in READ_NOOPS:
                break
        else:
            return None
    context = _Context(connection, shape, sql, params)
    for listener in dispatch.before_cursor_execute:
        listener(connection, None, sql, params, context, False)
    return context


def _after(connection: Connection, context: _Context) -> None:
    for listener in connection.dispatch.after_cursor_execute:
        listener(connection, None, context.statement, context.parameters[0], context, False)


def _hydrate(
    connection: Connection,
    session: Session,
    key: Any,
    shape: Shape,
    rows: Sequence[Any],
    description: Sequence[Any] | None,
) -> list[Any] | None:
    hydrator = shape.hydrator
    if hydrator is None:
        try:
            hydrator = shape.hydrate(connection.dialect, description or ())
        except Uncovered:
            CACHE.put(key, UNCOVERED)
            return None
    return hydrator(rows, session)


# --- drivers ----------------------------------------------------------------------------
def _cursor(fairy: Any) -> Any:
    """The driver cursor kept for fast-path reads on this pooled connection.

    PERF: a cursor per statement costs psycopg ~12 µs of CPU, more than the rest of the
    fast path; one connection serves one unit of work at a time, so its reads take turns
    on one cursor (which holds the last rows read until the next statement).
    """
    info = fairy.info
    raw = fairy.driver_connection
    kept = info.get(_CURSOR)
    if kept is None or kept[0] is not raw:
        kept = info[_CURSOR] = (raw, raw.cursor())
    return kept[1]


def _psycopg(fairy: Any, sql: str, params: Any, describe: bool) -> Rows:
    cursor = _cursor(fairy)
    cursor.execute(sql, params)
    # PERF: psycopg builds its description anew on each call; only the first run of a
    # shape needs it.
    return cursor.fetchall(), cursor.description if describe else None


def _dbapi(fairy: Any, sql: str, params: Any, describe: bool) -> Rows:
    cursor = _cursor(fairy)
    cursor.execute(sql, params)
    return cursor.fetchall(), cursor.description


async def _asyncpg(connection: Connection, sql: str, params: Any, describe: bool) -> Rows:
    # NOTE: what SQLAlchemy's asyncpg cursor does (its mutex, its lazily begun transaction,
    # its cache of prepared statements on this connection), minus the cursor and its
    # result; PERF: a prepared statement per shape and connection, reused.
    adapter = connection.connection.dbapi_connection
    async with adapter._execute_mutex:  # type: ignore[union-attr]
        if adapter._transaction is None:  # type: ignore[union-attr]
            await adapter._start_transaction()  # type: ignore[union-attr]
        prepared, attributes = await adapter._prepare(  # type: ignore[union-attr]
            sql,
            connection.dialect._invalidate_schema_cache_asof,  # type: ignore[attr-defined]
        )
        rows = await prepared.fetch(*params)
    description = (
        [(attribute.name, attribute.type.oid) for attribute in attributes] if describe else None
    )
    return rows, description


async def _aiomysql(connection: Connection, sql: str, params: Any, describe: bool) -> Rows:
    cursor = await connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        await cursor.execute(sql, params)
        return await cursor.fetchall(), cursor.description
    finally:
        await cursor.close()


async def _aiosqlite(connection: Connection, sql: str, params: Any, describe: bool) -> Rows:
    raw: Any = connection.connection.driver_connection
    if not describe:
        # PERF: one hop to aiosqlite's thread instead of three.
        return await raw.execute_fetchall(sql, params), None
    cursor = await raw.execute(sql, params)
    try:
        return await cursor.fetchall(), cursor.description
    finally:
        await cursor.close()


def _translated(connection: Connection, error: Exception) -> Exception:
    """asyncpg's own exception as the DBAPI error SQLAlchemy's adapter raises for it."""
    adapter = connection.connection.dbapi_connection
    translate = getattr(adapter, "_handle_exception", None)
    if translate is None or connection.dialect.driver != "asyncpg":
        return error
    try:
        translate(error)
    except Exception as translated:
        return translated
    return error


_SYNC: dict[str, Callable[[Any, str, Any, bool], Rows]] = {
    "psycopg": _psycopg,
    "pymysql": _dbapi,
    "pysqlite": _dbapi,
}
#: Where a pooled connection's ``info`` keeps (driver connection, cursor).
_CURSOR = "kettle.fast_path_cursor"
_ASYNC: dict[str, Callable[..., Any]] = {
    "asyncpg": _asyncpg,
    "aiomysql": _aiomysql,
    "aiosqlite": _aiosqlite,
}
_DRIVERS = frozenset((*_SYNC, *_ASYNC))
#: What ``_held`` checks a session against: SQLAlchemy's own bind choice, an active
#: transaction.
_GET_BIND = OrmSession.get_bind
_ACTIVE = SessionTransactionState.ACTIVE


__all__ = [
    "afetch",
    "afetch_count",
    "afetch_statement",
    "fetch",
    "fetch_count",
    "fetch_statement",
]
