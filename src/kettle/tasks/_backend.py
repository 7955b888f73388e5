"""The backend protocol: what ``Tasks`` needs from a place that stores and delivers tasks.

Two implementations ship: ``kettle.tasks.database`` (the embedded default: a table in the
app's own database) and the distributed one (an existing engine on Redis or RabbitMQ).
A backend only moves messages and records outcomes; running a message is the registry's
job (``Registry.run`` / ``Registry.arun``), the same for every backend, and deferring a
send to the end of a kettle.db unit of work is the core's (``Tasks``).

A minimal backend that keeps everything in memory would look like::

    class MemoryBackend:
        name = "memory"

        def send(self, messages): self.queue.extend(messages)
        async def asend(self, messages): self.send(messages)
        def get(self, task_id): return self.records.get(task_id)
        async def aget(self, task_id): return self.get(task_id)
        def worker(self, registry, *, queues, concurrency): return MemoryLoop(...)
        def check(self): pass
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

from kettle.tasks._message import State, TaskMessage

if TYPE_CHECKING:
    from kettle.tasks._registry import Registry


class TasksUnavailable(RuntimeError):
    """The task store or broker cannot be reached; inside a request this is a 503.

    Raised by ``enqueue`` (and by a backend's ``check``) with the backend's name and what
    to do::

        try:
            send_mail.enqueue("ann@example.com")
        except TasksUnavailable:
            ...  # the database or broker is down; nothing was enqueued
    """


class TaskRecord(msgspec.Struct, kw_only=True):
    """What a backend knows about one task: its state, attempts and outcome::

    record = backend.get(handle.id)
    record.state, record.attempts, record.error   # ("failed", 3, "ValueError: ...")
    """

    #: The task's id (``TaskHandle.id``).
    id: str
    #: The task's registered name.
    name: str
    #: ``pending``, ``running``, ``done``, ``failed`` or ``cancelled``.
    state: State
    #: How many times a worker has started the task.
    attempts: int = 0
    #: The function's return value, as JSON-compatible data (when ``done``).
    result: Any = None
    #: The last error, ``"ExceptionType: message"`` (kept when it ends ``failed``).
    error: str | None = None
    #: The last error's formatted traceback.
    traceback: str | None = None
    #: The queue it was sent to.
    queue: str = "default"
    #: When it was enqueued (UTC).
    enqueued_at: dt.datetime | None = None
    #: When its last run started.
    started_at: dt.datetime | None = None
    #: When it ended ``done`` or ``failed``.
    finished_at: dt.datetime | None = None


@runtime_checkable
class WorkerLoop(Protocol):
    """What ``Backend.worker`` returns: the consuming loop of one ``kettle worker``::

    loop = backend.worker(registry, queues=["default"], concurrency=4)
    threading.Thread(target=loop.run).start()
    loop.stop(grace=30)      # on SIGTERM: finish running tasks, requeue the rest
    """

    def run(self) -> None:
        """Consume and run tasks until ``stop`` is called (blocks)."""
        ...

    def stop(self, grace: float) -> None:
        """Ask ``run`` to return: claim nothing more, let running tasks finish within
        ``grace`` seconds, put the ones still running back in the queue. Thread-safe and
        callable from a signal handler."""
        ...


@runtime_checkable
class Backend(Protocol):
    """Stores and delivers ``TaskMessage`` s (see the module docstring)::

    tasks = Tasks(app, url="redis://127.0.0.1:6379/0")
    tasks.backend.check()       # raises TasksUnavailable while Redis is down
    """

    #: A short name for messages and the status line: ``"database"``, ``"redis"``.
    name: str

    def send(self, messages: Sequence[TaskMessage]) -> Sequence[str] | None:
        """Store ``messages`` durably (from sync code); raise ``TasksUnavailable`` when the
        store is down, having stored none of them if it can.

        Returns the ids the messages ended up with, in order (an earlier task's id where a
        unique key collapsed one), or None when the backend cannot tell (then each
        message's own id is used)."""
        ...

    async def asend(self, messages: Sequence[TaskMessage]) -> Sequence[str] | None:
        """``send`` for async callers."""
        ...

    def get(self, task_id: str) -> TaskRecord | None:
        """The task's record, or None when the backend does not know (or no longer keeps) it."""
        ...

    async def aget(self, task_id: str) -> TaskRecord | None:
        """``get`` for async callers."""
        ...

    def worker(self, registry: Registry, *, queues: Sequence[str], concurrency: int) -> WorkerLoop:
        """A loop that claims messages of ``queues`` and runs up to ``concurrency`` at once
        through ``registry``."""
        ...

    def check(self) -> None:
        """Raise ``TasksUnavailable`` (naming the backend and what to do) if unreachable."""
        ...


@runtime_checkable
class ManagedBackend(Protocol):
    """The optional listing and management methods of a backend (``kettle tasks``, the
    admin). The database backend has them all; a distributed one has what its engine allows
    and raises ``NotImplementedError`` naming the operation for the rest::

        if isinstance(tasks.backend, ManagedBackend):
            for record in tasks.backend.list(state="failed"):
                tasks.backend.retry(record.id)
    """

    def list(self, state: State | None = None, limit: int = 50) -> list[TaskRecord]:
        """The newest ``limit`` tasks (in ``state`` if given), newest first."""
        ...

    def retry(self, task_id: str) -> bool:
        """Put a failed or cancelled task back in its queue (attempts start over); False
        when no such task is in one of those states."""
        ...

    def cancel(self, task_id: str) -> bool:
        """Cancel a pending task; False when no such task is pending."""
        ...

    def purge(self, state: State) -> int:
        """Delete every task in ``state``; returns how many were deleted."""
        ...


__all__ = ["Backend", "ManagedBackend", "TaskRecord", "TasksUnavailable", "WorkerLoop"]
