"""The embedded backend: tasks kept in the app's own database, through kettle.db.

The default (``KETTLE_TASKS_URL=database``): `kettle run` plus `kettle worker` need no
other server, on SQLite as on PostgreSQL or MariaDB. An enqueue inside a request (or
``db.session()``) inserts the task's row in that unit's transaction, so it exists exactly
when the request's own writes do::

    tasks = Tasks(app)                     # app has a kettle.db Database
    tasks.backend                          # DatabaseBackend(database=...)

The rows are ``kettle.tasks.models.TaskRow`` (table ``kettle_tasks``): create it with a
migration (``kettle db makemigrations`` sees the model once ``kettle.tasks`` is in use),
or ``db.create_all()`` in tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc

from kettle.db import Database, DatabaseUnavailable
from kettle.db import session as units
from kettle.exceptions import ConfigurationError
from kettle.tasks import _rows
from kettle.tasks._backend import TaskRecord, TasksUnavailable
from kettle.tasks._message import State, TaskMessage, utcnow
from kettle.tasks.models import TaskRow

if TYPE_CHECKING:
    from kettle.tasks._dbworker import DatabaseWorker
    from kettle.tasks._registry import Registry
    from kettle.tasks._tasks import Tasks

table = _rows.table
c = table.c


def from_url(url: str, tasks: Tasks) -> DatabaseBackend:
    """The backend for ``KETTLE_TASKS_URL=database``: the app's own ``Database``."""
    database = getattr(tasks.app.state, "db", None) if tasks.app is not None else None
    if not isinstance(database, Database):
        raise ConfigurationError(
            "KETTLE_TASKS_URL=database keeps tasks in the app's kettle.db database, but the "
            "app has none. Create it before Tasks: `db = Database(app)` (kettle.db), or set "
            "KETTLE_TASKS_URL to a redis:// or amqp:// URL."
        )
    return DatabaseBackend(database, visibility_timeout=tasks.visibility_timeout)


class DatabaseBackend:
    """Tasks in the table ``kettle_tasks`` of ``database`` (see the module docstring)::

    backend = DatabaseBackend(db, visibility_timeout=60)
    backend.list(state="failed")
    """

    #: The backend's name in the worker's banner and in messages.
    name = "database"

    def __init__(self, database: Database, *, visibility_timeout: float = 60.0) -> None:
        self.database = database
        #: Seconds a claimed task stays leased to its worker without a heartbeat.
        self.visibility_timeout = visibility_timeout

    def __repr__(self) -> str:
        return f"DatabaseBackend(database={self.database.url.render_as_string()!r})"

    # --- sending ---------------------------------------------------------------------------
    def send(self, messages: Sequence[TaskMessage]) -> list[str]:
        """Insert ``messages`` in a transaction of their own; returns their ids::

        backend.send([message])   # [message.id], or an earlier id for a unique key
        """
        with _unavailable_named(), self.database.sync_engine.begin() as connection:
            return _rows.insert(connection, messages)

    async def asend(self, messages: Sequence[TaskMessage]) -> list[str]:
        """``send`` for async code::

        await backend.asend([message])
        """
        with _unavailable_named():
            async with self.database.async_engine.begin() as connection:
                return await connection.run_sync(_rows.insert, messages)

    def send_in_unit(self, messages: Sequence[TaskMessage]) -> list[str]:
        """Insert ``messages`` in the current unit of work's transaction (``Tasks`` calls
        this inside a request): they commit, or roll back, with it::

            with db.session():
                backend.send_in_unit([message])
        """
        connection = units.sync_session().connection()
        return _rows.insert(connection, messages)

    async def asend_in_unit(self, messages: Sequence[TaskMessage]) -> list[str]:
        """``send_in_unit`` for async code::

        await backend.asend_in_unit([message])
        """
        session = units.async_session()
        return await session.run_sync(lambda s: _rows.insert(s.connection(), messages))

    # --- reading ---------------------------------------------------------------------------
    def get(self, task_id: str) -> TaskRecord | None:
        """The task's record, or None::

        backend.get(handle.id).state
        """
        with _unavailable_named(), self.database.sync_engine.connect() as connection:
            row = connection.execute(sa.select(table).where(c.task_id == task_id)).first()
        return _rows.record(row) if row is not None else None

    async def aget(self, task_id: str) -> TaskRecord | None:
        """``get`` for async code::

        (await backend.aget(handle.id)).state
        """
        with _unavailable_named():
            async with self.database.async_engine.connect() as connection:
                result = await connection.execute(sa.select(table).where(c.task_id == task_id))
                row = result.first()
        return _rows.record(row) if row is not None else None

    def check(self) -> None:
        """Raise ``TasksUnavailable`` unless the database answers and has ``kettle_tasks``::

        backend.check()
        """
        with _unavailable_named(), self.database.sync_engine.connect() as connection:
            if not sa.inspect(connection).has_table(table.name):
                raise TasksUnavailable(
                    f"The database has no table {table.name!r} for the tasks. Create it: "
                    "`kettle db makemigrations` then `kettle db migrate` (the model is "
                    "kettle.tasks.models.TaskRow), or db.create_all() in tests."
                )

    # --- the worker ------------------------------------------------------------------------
    def worker(
        self, registry: Registry, *, queues: Sequence[str], concurrency: int
    ) -> DatabaseWorker:
        """The loop of one ``kettle worker`` on this database::

        backend.worker(registry, queues=["default"], concurrency=4).run()
        """
        from kettle.tasks._dbworker import DatabaseWorker

        return DatabaseWorker(self, registry, queues=queues, concurrency=concurrency)

    # --- management (kettle tasks, the admin) ----------------------------------------------
    def list(self, state: State | None = None, limit: int = 50) -> list[TaskRecord]:
        """The newest ``limit`` tasks, in ``state`` if given::

        [r.id for r in backend.list(state="failed", limit=10)]
        """
        query = sa.select(table).order_by(c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(c.state == state)
        with _unavailable_named(), self.database.sync_engine.connect() as connection:
            return [_rows.record(row) for row in connection.execute(query)]

    def retry(self, task_id: str) -> bool:
        """Queue a failed or cancelled task again, now, with its attempts starting over::

        backend.retry(record.id)   # True if it was failed or cancelled
        """
        return self._update(
            task_id,
            ("failed", "cancelled"),
            state="pending",
            attempts=0,
            run_at=utcnow(),
            finished_at=None,
        )

    def cancel(self, task_id: str) -> bool:
        """Cancel a pending task (a running one finishes its run)::

        backend.cancel(handle.id)   # True if it was pending
        """
        return self._update(
            task_id, ("pending",), state="cancelled", active_key=None, finished_at=utcnow()
        )

    def purge(self, state: State) -> int:
        """Delete every task in ``state``; returns how many::

        backend.purge("done")
        """
        with _unavailable_named(), self.database.sync_engine.begin() as connection:
            return int(connection.execute(sa.delete(table).where(c.state == state)).rowcount)

    def _update(self, task_id: str, states: tuple[str, ...], **values: Any) -> bool:
        with _unavailable_named(), self.database.sync_engine.begin() as connection:
            statement = sa.update(table).where(c.task_id == task_id, c.state.in_(states))
            return bool(connection.execute(statement.values(**values)).rowcount)


@contextlib.contextmanager
def _unavailable_named() -> Iterator[None]:
    """Turn "the database is unreachable" into ``TasksUnavailable`` naming the backend."""
    try:
        yield
    except (DatabaseUnavailable, exc.TimeoutError) as error:
        cause = error.orig if isinstance(error, exc.DBAPIError) else error
        raise TasksUnavailable(
            "The task database is unreachable (KETTLE_TASKS_URL=database, the app's own "
            f"database): {cause}. Nothing was changed; try again when the database is back."
        ) from error


__all__ = ["DatabaseBackend", "TaskRow", "from_url"]
