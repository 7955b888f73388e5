"""``@task``: a function that can also be enqueued, and the handle an enqueue returns.

::

    @task(queue="mail", retries=3, timeout=30)
    def send_welcome(user_id: int) -> None: ...

    handle = send_welcome.enqueue(42)          # checked against the signature here
    send_welcome.options(delay=60).enqueue(42)
    send_welcome(42)                           # still a plain call

Arguments are checked when enqueued, against the signature's types (``_arguments``): a
bad argument is a ``TaskArgumentError`` in the caller, never a poison message in the queue.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

import msgspec

from kettle.exceptions import ConfigurationError
from kettle.tasks._arguments import Signature, TaskArgumentError
from kettle.tasks._message import State, TaskMessage, utcnow

if TYPE_CHECKING:
    from kettle.tasks._backend import TaskRecord
    from kettle.tasks._tasks import Tasks

P = ParamSpec("P")
R = TypeVar("R")

#: Every task defined in this process, by name (``Registry.defined()`` reads it).
DEFINED: dict[str, Task[Any, Any]] = {}


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Options of one enqueue (``task.options(...)``); None keeps the task's own."""

    #: Run no sooner than this many seconds (or this timedelta) from now.
    delay: float | dt.timedelta | None = None
    #: Run no sooner than this (timezone-aware) time.
    run_at: dt.datetime | None = None
    #: The queue to send to instead of the task's own.
    queue: str | None = None
    #: The priority instead of the task's own (higher runs first).
    priority: int | None = None
    #: Collapse into a pending or running task enqueued with the same key.
    unique_key: str | None = None


class Task(Generic[P, R]):
    """A function decorated with ``@task`` (see the module docstring)::

    send_welcome.name          # "app.send_welcome"
    send_welcome.enqueue(42)   # a TaskHandle
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        queue: str = "default",
        priority: int = 0,
        retries: int = 0,
        backoff: float = 1.0,
        timeout: float | None = None,
        unique: bool = False,
        cron: str | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or f"{fn.__module__}.{fn.__qualname__}"
        if "<locals>" in self.name:
            self.name = self.name.replace(".<locals>", "")
        self.queue = queue
        self.priority = priority
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.unique = unique
        self.cron = cron
        self.is_async = inspect.iscoroutinefunction(fn)
        self.signature = Signature(self.name, fn)
        functools.update_wrapper(self, fn)
        if retries < 0 or backoff < 0 or (timeout is not None and timeout <= 0):
            raise ConfigurationError(
                f"Task {self.name!r}: retries and backoff must be >= 0 and timeout > 0 "
                f"(got retries={retries}, backoff={backoff}, timeout={timeout})."
            )
        if cron is not None:
            from kettle.tasks.scheduler import parse_cron

            parse_cron(cron, self.name)
            required = [
                p.name
                for p in inspect.signature(fn).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            if required:
                raise ConfigurationError(
                    f"Periodic task {self.name!r} (cron={cron!r}) has parameters without "
                    f"defaults ({', '.join(required)}); the scheduler calls it with none."
                )
        other = DEFINED.get(self.name)
        if other is not None and _where(other.fn) != _where(fn):
            raise ConfigurationError(
                f"Two tasks are named {self.name!r} ({_where(other.fn)} and {_where(fn)}). "
                "Give one of them another name: @task(name='...')."
            )
        DEFINED[self.name] = self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    def options(self, **options: Any) -> BoundCall[P, R]:
        """This task with options for one enqueue: ``delay`` (seconds or a timedelta),
        ``run_at``, ``queue``, ``priority``, ``unique_key``::

        send_welcome.options(delay=60, priority=5).enqueue(42)
        """
        return BoundCall(self, CallOptions(**options))

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskHandle:
        """Check the arguments and send the task (when the current unit of work commits)::

        handle = send_welcome.enqueue(42)
        """
        return BoundCall(self, CallOptions()).enqueue(*args, **kwargs)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskHandle:
        """``enqueue`` for async code::

        handle = await send_welcome.aenqueue(42)
        """
        return await BoundCall(self, CallOptions()).aenqueue(*args, **kwargs)

    def message(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
    ) -> TaskMessage:
        """The message for one call (arguments checked)::

        send_welcome.message((42,), {}, CallOptions()).args   # [42]
        """
        encoded_args, encoded_kwargs = self.signature.encode(args, kwargs)
        eta = options.run_at
        if options.delay is not None:
            delay = options.delay
            seconds = delay.total_seconds() if isinstance(delay, dt.timedelta) else delay
            eta = utcnow() + dt.timedelta(seconds=seconds)
        if eta is not None and eta.tzinfo is None:
            raise TaskArgumentError(
                f"task {self.name!r}: run_at={eta!r} has no time zone; "
                "pass an aware datetime such as datetime.now(datetime.UTC)."
            )
        key = options.unique_key
        if key is None and self.unique:
            digest = hashlib.sha256(msgspec.json.encode([encoded_args, encoded_kwargs]))
            key = f"{self.name}:{digest.hexdigest()[:32]}"
        return TaskMessage.new(
            self.name,
            encoded_args,
            encoded_kwargs,
            queue=options.queue or self.queue,
            priority=self.priority if options.priority is None else options.priority,
            eta=eta,
            max_retries=self.retries,
            timeout=self.timeout,
            unique_key=key,
        )


def _where(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


class BoundCall(Generic[P, R]):
    """What ``task.options(...)`` returns: the task with options for one enqueue::

    send_welcome.options(queue="urgent").enqueue(42)
    """

    def __init__(self, task: Task[P, R], options: CallOptions) -> None:
        self.task = task
        self.call_options = options

    def options(self, **options: Any) -> BoundCall[P, R]:
        """More options on top of these::

        send_welcome.options(queue="urgent").options(delay=5).enqueue(42)
        """
        return BoundCall(self.task, replace(self.call_options, **options))

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskHandle:
        """See ``Task.enqueue``."""
        from kettle.tasks._tasks import current

        tasks = current()
        return tasks.enqueue_message(self.task.message(args, kwargs, self.call_options))

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskHandle:
        """See ``Task.aenqueue``."""
        from kettle.tasks._tasks import current

        tasks = current()
        return await tasks.aenqueue_message(self.task.message(args, kwargs, self.call_options))


class TaskHandle:
    """What ``enqueue`` returns: the task's id, and its state and outcome when asked::

    handle = add.enqueue(1, 2)
    handle.refresh().state    # "pending", "running", "done", "failed" or "cancelled"
    handle.result             # 3, once done
    """

    def __init__(self, tasks: Tasks, task_id: str, record: TaskRecord | None = None) -> None:
        self.tasks = tasks
        #: The task's id (a uuid4 in hex); with a unique key, maybe an earlier task's.
        self.id = task_id
        self.record = record

    def __repr__(self) -> str:
        return f"<TaskHandle {self.id} {self.state}>"

    @property
    def state(self) -> State:
        """The state when last fetched (``pending`` until ``refresh`` says otherwise)."""
        return self.record.state if self.record is not None else "pending"

    @property
    def result(self) -> Any:
        """The function's return value (JSON-compatible data) once ``done``, else None."""
        return self.record.result if self.record is not None else None

    @property
    def error(self) -> str | None:
        """The last error, ``"ExceptionType: message"``, or None."""
        return self.record.error if self.record is not None else None

    def refresh(self) -> TaskHandle:
        """Fetch the current state from the backend; returns the handle::

        handle.refresh().state
        """
        self.record = self.tasks.backend.get(self.id) or self.record
        return self

    async def arefresh(self) -> TaskHandle:
        """``refresh`` for async code::

        (await handle.arefresh()).state
        """
        self.record = await self.tasks.backend.aget(self.id) or self.record
        return self


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...
@overload
def task(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    queue: str = "default",
    priority: int = 0,
    retries: int = 0,
    backoff: float = 1.0,
    timeout: float | None = None,
    unique: bool = False,
    cron: str | None = None,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...
def task(
    fn: Callable[P, R] | None = None, /, **options: Any
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Make ``fn`` (``def`` or ``async def``) a task; bare or with options::

    @task
    def add(a: int, b: int) -> int:
        return a + b

    @task(queue="mail", priority=5, retries=3, backoff=2.0, timeout=30, unique=True)
    async def send_mail(to: str, subject: str) -> None: ...

    @task(cron="0 * * * *")        # every hour, by the scheduler of `kettle worker`
    def recompute_rankings() -> None: ...

    ``retries`` more attempts after a failure, ``backoff`` seconds before the first retry
    (doubling each time, with jitter), ``timeout`` seconds per run, ``unique`` collapses an
    enqueue into a pending or running task with the same arguments.
    """
    if fn is not None:
        return Task(fn, **options)

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        return Task(fn, **options)

    return decorate


__all__ = ["DEFINED", "BoundCall", "CallOptions", "Task", "TaskHandle", "task"]
