"""A unit of work's transaction starts at its first write, not its first read.

On PostgreSQL a unit that only reads (most GET requests) then costs one round trip per
query instead of three: no ``BEGIN`` before its first SELECT and no ``COMMIT`` after its
last. Its SELECTs run in the driver's autocommit mode, each in a transaction of its own,
which at ``READ COMMITTED`` (PostgreSQL's default) sees exactly what it would have seen
inside one: there, too, every statement sees the rows committed when it starts. The
first statement that is not a plain SELECT (an INSERT, UPDATE or DELETE, a flush, a
SAVEPOINT from ``atomic()``, ``SELECT ... FOR UPDATE``, a CTE, raw SQL) turns autocommit
off before it runs, so the driver opens the transaction with it; from there on the unit
is one transaction, committed or rolled back at its end as before::

    article = await Article.objects.aget(pk=1)   # SELECT, autocommit: no BEGIN
    article.score += 1
    await article.asave()                         # BEGIN; UPDATE ...
                                                  # COMMIT when the request ends

On SQLite every transaction of Kettle's engines starts the same way, with ``BEGIN
IMMEDIATE``: it takes the database's write lock before the first write, waiting for it
(``busy_timeout``) if another connection holds it. A transaction that had read first
(SQLite's plain ``BEGIN``) would instead fail at its first write with "database is
locked" whenever another connection had written since its read, whatever the timeout.

Where the reads before the first write matter to it, open ``atomic()`` (or use
``select_for_update()``) first: the transaction then starts there. On PostgreSQL, other
isolation levels (a server whose ``default_transaction_isolation`` is not read
committed, or a connection given ``isolation_level``) keep their transaction from the
first statement; so does MariaDB, which gains nothing (its drivers begin implicitly,
without a round trip, and switching autocommit is one).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction

#: Set in a pooled connection's ``info`` while its unit of work has not written yet.
DEFERRED = "kettle.deferred_begin"
#: The ``before_cursor_execute`` listeners below: they do nothing for a plain SELECT, so
#: the fast read path (``_fastpath``) need not call them for its statements.
READ_NOOPS: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()
_READS = frozenset({"select", "compound_select"})


class UnitSession(Session):
    """The ``Session`` of Kettle's units of work: the blocking one, and the one inside the
    ``AsyncSession`` (``AsyncOrmSession``); each defers its transaction as above."""


@event.listens_for(UnitSession, "after_begin")
def defer_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """``after_begin`` of a unit's session: put a PostgreSQL connection in autocommit until
    the unit first writes (``_start_on_write``). A no-op elsewhere."""
    if transaction.nested or transaction.parent is not None:
        return
    dialect = connection.dialect
    # NOTE: getattr: the dialect learns the server's level on its first connection; until
    # that has finished (another caller's, say), keep the transaction, as at other levels.
    level = getattr(dialect, "default_isolation_level", None)
    if dialect.name != "postgresql" or level != "READ COMMITTED":
        return
    if "isolation_level" in connection.get_execution_options():
        return
    driver = connection.connection.dbapi_connection
    if driver is None:
        return
    # NOTE: nothing has run on the connection in this transaction yet (PostgreSQL drivers
    # begin implicitly, at the first statement), so the driver accepts the switch.
    driver.autocommit = True
    connection.info[DEFERRED] = True


def watch(engine: Engine) -> None:
    """Listen on a PostgreSQL or SQLite ``engine`` for the first write of deferred units
    (on SQLite, of every transaction: its driver is left in autocommit, see _engines)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "begin", _defer_sqlite)
        event.listen(engine, "before_cursor_execute", _on_first_write(_begin_sqlite), retval=True)
        event.listen(engine, "commit", _forget)
        event.listen(engine, "rollback", _forget)
        return
    event.listen(engine, "before_cursor_execute", _on_first_write(_begin_postgresql), retval=True)
    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)
    event.listen(engine, "checkin", _checkin)


def _defer_sqlite(connection: Connection) -> None:
    # In place of SQLite's BEGIN: nothing yet (Kettle's SQLite drivers run in autocommit,
    # and SQLAlchemy's COMMIT or ROLLBACK of no transaction is a no-op for them).
    connection.info[DEFERRED] = True


def _forget(connection: Connection) -> None:
    if not connection.invalidated:
        connection.info.pop(DEFERRED, None)


def _on_first_write(begin: Callable[[Connection, Any], None]) -> Callable[..., tuple[str, Any]]:
    """A ``before_cursor_execute`` listener calling ``begin(connection, cursor)`` before
    the first statement of a deferred transaction that is not a plain read.

    NOTE: registered with ``retval=True`` (so it returns the statement and parameters
    unchanged), which keeps SQLAlchemy from wrapping it: ``READ_NOOPS`` then holds the
    very function the engine's dispatch lists.
    """

    def before_cursor_execute(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        info = connection.info
        if info.get(DEFERRED) and not reads_only(context):
            info[DEFERRED] = False
            begin(connection, cursor)
        return statement, parameters

    READ_NOOPS.add(before_cursor_execute)
    return before_cursor_execute


def _begin_postgresql(connection: Connection, cursor: Any) -> None:
    # The driver sends BEGIN itself, ahead of the statement about to run.
    connection.connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]


def _begin_sqlite(connection: Connection, cursor: Any) -> None:
    cursor.execute("BEGIN IMMEDIATE")


def reads_only(context: Any) -> bool:
    """Whether the statement about to run is a plain SELECT: compiled from a Select, no
    ``FOR UPDATE``/``FOR SHARE`` (row locks last as long as a transaction), no CTE (one may
    write). Raw SQL counts as a write: Kettle cannot tell what it does."""
    compiled = getattr(context, "compiled", None)
    if compiled is None:
        return False
    statement = compiled.statement
    return (
        getattr(statement, "__visit_name__", None) in _READS
        and getattr(statement, "_for_update_arg", None) is None
        and not compiled.ctes
    )


def _end(connection: Connection) -> None:
    # Still deferred: the unit never wrote, so there is no transaction to end; the driver
    # goes back to its normal mode before SQLAlchemy's no-op COMMIT (or ROLLBACK).
    if connection.invalidated:
        return
    if connection.info.pop(DEFERRED, False):
        driver = connection.connection.dbapi_connection
        if driver is not None:
            driver.autocommit = False


def _checkin(driver: Any, record: Any) -> None:
    # NOTE: a connection must never go back to the pool in autocommit; commit and rollback
    # restore it, this covers a unit abandoned in between (a cancelled request).
    if record.info.pop(DEFERRED, False) and driver is not None:
        driver.autocommit = False


__all__ = ["DEFERRED", "READ_NOOPS", "UnitSession", "defer_begin", "reads_only", "watch"]
