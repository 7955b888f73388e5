"""The SQL of the database backend: insert, claim, renew, reclaim and finish task rows.

Every function takes a SQLAlchemy ``Connection`` inside a transaction the caller owns,
so an enqueue in a request commits with the request's own writes. Claims are safe with
any number of workers: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB (10.6+), one
``UPDATE ... RETURNING`` on SQLite, whose writes are serialised anyway::

    with engine.begin() as connection:
        messages = claim(connection, ["default"], 4, worker="host:123", lease=60.0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kettle.tasks._backend import TaskRecord
from kettle.tasks._message import TaskMessage, utcnow
from kettle.tasks._registry import Outcome
from kettle.tasks.models import TaskRow

table: sa.Table = TaskRow.__table__  # type: ignore[assignment]
c = table.c
#: Runs of a task whose worker vanished (killed, lost its lease) beyond its retries before
#: it counts as failed: a task that kills its worker must not crash-loop forever.
LOST_RUNS = 5

#: The columns a claim reads (``_message`` makes a message of them).
_CLAIMED = (
    *(c.id, c.task_id, c.name, c.queue, c.priority, c.run_at, c.attempts, c.max_retries),
    *(c.timeout, c.unique_key, c.payload, c.enqueued_at),
)


class _Payload(msgspec.Struct, omit_defaults=True):
    args: list[Any]
    kwargs: dict[str, Any]
    #: The enqueuing request's id (``TaskMessage.request_id``); absent in older rows and
    #: when the app keeps no request ids (RequestLogs).
    request_id: str | None = None


_payload_decoder = msgspec.json.Decoder(_Payload)


def _values(message: TaskMessage) -> dict[str, Any]:
    return {
        "task_id": message.id,
        "name": message.name,
        "queue": message.queue,
        "priority": message.priority,
        "state": "pending",
        "run_at": message.eta or message.enqueued_at,
        "attempts": message.attempt,
        "max_retries": message.max_retries,
        "timeout": message.timeout,
        "unique_key": message.unique_key,
        "active_key": message.unique_key,
        "payload": msgspec.json.encode(
            _Payload(message.args, message.kwargs, message.request_id)
        ).decode(),
        "enqueued_at": message.enqueued_at,
    }


_inserts: dict[str, Any] = {}


def _insert_ignoring_duplicates(connection: Connection) -> Any:
    """An INSERT that does nothing for a row whose task id or active key already exists."""
    dialect = connection.dialect.name
    # PERF: built once per dialect; SQLAlchemy then reuses its compiled form.
    statement = _inserts.get(dialect)
    if statement is None:
        statement = _inserts[dialect] = _make_insert(dialect)
    return statement


def _make_insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        statement = mysql.insert(table)
        return statement.on_duplicate_key_update(id=c.id)
    return table.insert()


def insert(connection: Connection, messages: Sequence[TaskMessage]) -> list[str]:
    """Insert ``messages``; returns their ids, an earlier task's where a unique key (or a
    periodic task's tick id) collapsed one into it."""
    statement = _insert_ignoring_duplicates(connection)
    # PERF: one executemany for the whole batch; a second query only for unique keys.
    connection.execute(statement, [_values(m) for m in messages])
    keys = [m.unique_key for m in messages if m.unique_key is not None]
    if not keys:
        return [m.id for m in messages]
    found = dict(
        connection.execute(sa.select(c.active_key, c.task_id).where(c.active_key.in_(keys))).all()
    )
    # A key no longer active finished meanwhile; the message's own row may not exist then,
    # but its id is still the best answer (get() returns None for it).
    return [found.get(m.unique_key, m.id) if m.unique_key else m.id for m in messages]


def claim(
    connection: Connection, queues: Sequence[str], limit: int, *, worker: str, lease: float
) -> list[TaskMessage]:
    """Take up to ``limit`` due pending tasks of ``queues``, highest priority then oldest
    first, leased to ``worker`` for ``lease`` seconds. A row whose stored arguments are not
    valid JSON any more is marked failed here, with the decode error, and not returned."""
    now = utcnow()
    due = (
        sa.select(c.id)
        .where(c.state == "pending", c.queue.in_(queues), c.run_at <= now)
        .order_by(c.priority.desc(), c.run_at, c.id)
        .limit(limit)
    )
    taken = {
        "state": "running",
        "attempts": c.attempts + 1,
        "locked_by": worker,
        "locked_until": now + dt.timedelta(seconds=lease),
        "started_at": now,
    }
    rows: Sequence[Any]
    dialect = connection.dialect.name
    returning = dialect in ("sqlite", "postgresql")
    if returning:
        # PERF: one statement, one round trip. SQLite runs it under its write lock, atomic
        # without row locks; PostgreSQL skips the rows other workers' claims hold.
        if dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        update = sa.update(table).where(c.id.in_(due.scalar_subquery())).values(taken)
        rows = connection.execute(update.returning(*_CLAIMED)).all()
    else:  # MariaDB has no UPDATE ... RETURNING: lock, then update, in the transaction
        rows = connection.execute(
            due.with_only_columns(*_CLAIMED).with_for_update(skip_locked=True)
        ).all()
        if rows:
            ids = [row.id for row in rows]
            connection.execute(sa.update(table).where(c.id.in_(ids)).values(taken))
    messages = []
    for row in sorted(rows, key=lambda row: (-row.priority, row.run_at, row.id)):
        try:
            payload = _payload_decoder.decode(row.payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            _fail_undecodable(connection, row, str(error), now)
            continue
        # A message counts the runs before this one: RETURNING gives the counted value.
        before = row.attempts - 1 if returning else row.attempts
        messages.append(_message(row, payload, before))
    return messages


def _message(row: Any, payload: _Payload, attempts: int) -> TaskMessage:
    return TaskMessage(
        id=row.task_id,
        name=row.name,
        args=payload.args,
        kwargs=payload.kwargs,
        queue=row.queue,
        priority=row.priority,
        eta=row.run_at,
        attempt=attempts,
        max_retries=row.max_retries,
        timeout=row.timeout,
        unique_key=row.unique_key,
        enqueued_at=row.enqueued_at,
        request_id=payload.request_id,
    )


def _fail_undecodable(connection: Connection, row: Any, error: str, now: dt.datetime) -> None:
    connection.execute(
        sa.update(table)
        .where(c.id == row.id)
        .values(
            state="failed",
            active_key=None,
            locked_by=None,
            locked_until=None,
            finished_at=now,
            error=f"the stored arguments of task {row.name!r} do not decode: {error}",
        )
    )


def renew(connection: Connection, task_ids: Sequence[str], *, worker: str, lease: float) -> None:
    """Extend the leases of ``worker``'s running tasks (its heartbeat)."""
    until = utcnow() + dt.timedelta(seconds=lease)
    connection.execute(
        sa.update(table)
        .where(c.task_id.in_(task_ids), c.locked_by == worker, c.state == "running")
        .values(locked_until=until)
    )


def reclaim(connection: Connection) -> int:
    """Put running tasks whose lease has expired (their worker died) back in the queue;
    returns how many. A task lost ``LOST_RUNS`` times beyond its retries fails instead."""
    now = utcnow()
    expired = (c.state == "running", c.locked_until < now)
    lost = connection.execute(
        sa.update(table)
        .where(*expired, c.attempts > c.max_retries + LOST_RUNS)
        .values(
            state="failed",
            active_key=None,
            locked_by=None,
            locked_until=None,
            finished_at=now,
            error="its worker stopped (killed, or lost its lease) on every run; "
            "it may crash or hang the worker process",
        )
    ).rowcount
    back = connection.execute(
        sa.update(table).where(*expired).values(state="pending", locked_by=None, locked_until=None)
    ).rowcount
    return int(back or 0) + int(lost or 0)


def _finishing(**values: Any) -> Any:
    """An UPDATE of one leased row by task id and worker, for ``executemany``."""
    return (
        sa.update(table)
        .where(
            c.task_id == sa.bindparam("b_id"),
            c.locked_by == sa.bindparam("b_worker"),
            c.state == "running",
        )
        .values(locked_by=None, locked_until=None, **values)
    )


_when = c.finished_at.type
_DONE = _finishing(
    state="done",
    result=sa.bindparam("b_result"),
    error=None,
    traceback=None,
    active_key=None,
    finished_at=sa.bindparam("b_now", type_=_when),
)
_RETRY = _finishing(
    state="pending",
    run_at=sa.bindparam("b_at", type_=_when),
    error=sa.bindparam("b_error"),
    traceback=sa.bindparam("b_trace"),
)
_FAILED = _finishing(
    state="failed",
    error=sa.bindparam("b_error"),
    traceback=sa.bindparam("b_trace"),
    active_key=None,
    finished_at=sa.bindparam("b_now", type_=_when),
)


def finish_many(
    connection: Connection, finished: Sequence[tuple[TaskMessage, Outcome]], *, worker: str
) -> int | None:
    """Record the outcomes of ``worker``'s runs: one ``executemany`` per kind of outcome.
    Returns how many rows were still leased to ``worker`` (None where the driver cannot
    tell); a row whose lease lapsed (another run took it over) is left alone."""
    now = utcnow()
    groups: dict[str, list[dict[str, Any]]] = {"done": [], "retry": [], "failed": []}
    for message, outcome in finished:
        params: dict[str, Any] = {"b_id": message.id, "b_worker": worker, "b_now": now}
        if outcome.state == "done":
            params["b_result"] = msgspec.json.encode(outcome.result).decode()
        else:
            params.update(b_error=outcome.error, b_trace=outcome.traceback)
            params["b_at"] = outcome.retry_at
        groups[outcome.state].append(params)
    total: int | None = 0
    for state, statement in (("done", _DONE), ("retry", _RETRY), ("failed", _FAILED)):
        if groups[state]:
            # PERF: psycopg pipelines an executemany: about one round trip for the lot.
            count = connection.execute(statement, groups[state]).rowcount
            total = None if total is None or count is None or count < 0 else total + count
    return total


def release(connection: Connection, task_ids: Sequence[str], *, worker: str) -> None:
    """Give ``worker``'s unfinished tasks back to the queue at once (a stopping worker):
    the interrupted run does not count as an attempt."""
    connection.execute(
        sa.update(table)
        .where(c.task_id.in_(task_ids), c.locked_by == worker, c.state == "running")
        .values(state="pending", locked_by=None, locked_until=None, attempts=c.attempts - 1)
    )


def record(row: Any) -> TaskRecord:
    """A ``TaskRecord`` from a full row."""
    result = None
    if row.result is not None:
        try:
            result = msgspec.json.decode(row.result)
        except msgspec.DecodeError:
            result = row.result
    return TaskRecord(
        id=row.task_id,
        name=row.name,
        state=row.state,
        attempts=row.attempts,
        result=result,
        error=row.error,
        traceback=row.traceback,
        queue=row.queue,
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


__all__ = [
    "LOST_RUNS",
    "claim",
    "finish_many",
    "insert",
    "reclaim",
    "record",
    "release",
    "renew",
]
