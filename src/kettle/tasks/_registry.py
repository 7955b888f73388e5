"""Running one message: decode its arguments, call the function, report an ``Outcome``.

Shared by every backend: a worker claims a message the way its store allows, hands it to
``Registry.run`` (from a thread) or ``Registry.arun`` (on the worker's loop), and records
the outcome. Nothing here raises because of the task: an unknown name (code deployed
without the task), arguments that no longer decode, an exception or a timeout all become
an ``Outcome``::

    registry = Registry([add])               # or Registry.defined(): every @task imported
    outcome = registry.run(TaskMessage.new(add.name, [1, 2], {}))
    outcome.state, outcome.result            # ("done", 3)
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import random
import threading
import traceback
from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any, Literal

import msgspec

from kettle import _requestid
from kettle.exceptions import ConfigurationError
from kettle.tasks._message import TaskMessage, utcnow
from kettle.tasks._task import DEFINED, Task

#: The longest wait between two attempts, however many there were.
MAX_BACKOFF = 3600.0


class Outcome(msgspec.Struct, kw_only=True):
    """How one run of a message ended::

    Outcome(state="retry", error="OSError: timed out", retry_at=utcnow() + delay)
    """

    #: ``done``; ``retry`` (run it again at ``retry_at``); ``failed`` (no more attempts).
    state: Literal["done", "retry", "failed"]
    #: The function's return value as JSON-compatible data (``done``).
    result: Any = None
    #: ``"ExceptionType: message"`` of the error (``retry`` and ``failed``).
    error: str | None = None
    #: The error's formatted traceback, when there was an exception.
    traceback: str | None = None
    #: When to run the next attempt (``retry``).
    retry_at: dt.datetime | None = None


class Registry:
    """The tasks a worker can run, by name (built once when the worker starts)::

    registry = Registry.defined()            # every @task in the imported modules
    registry["news.tasks.send_mail"]         # the Task
    """

    def __init__(self, tasks: Iterable[Task[Any, Any]]) -> None:
        self.tasks: dict[str, Task[Any, Any]] = {}
        for task in tasks:
            other = self.tasks.setdefault(task.name, task)
            if other is not task and other.fn is not task.fn:
                raise ConfigurationError(
                    f"Two tasks are named {task.name!r} ({_where(other)} and {_where(task)}). "
                    "Give one of them another name: @task(name='...')."
                )

    @classmethod
    def defined(cls) -> Registry:
        """Every ``@task`` defined so far in this process (in the modules imported)::

        import news.tasks          # defines the tasks
        Registry.defined()
        """
        return cls(DEFINED.values())

    def __getitem__(self, name: str) -> Task[Any, Any]:
        return self.tasks[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tasks

    def __iter__(self) -> Any:
        return iter(self.tasks.values())

    def __len__(self) -> int:
        return len(self.tasks)

    def run(self, message: TaskMessage) -> Outcome:
        """Run ``message`` in this thread (an ``async def`` task on a loop of its own)::

        registry.run(message).state      # "done", "retry" or "failed"
        """
        prepared = self._prepare(message)
        if isinstance(prepared, Outcome):
            return prepared
        task, args, kwargs = prepared
        token = _requestid.current.set(message.request_id)
        try:
            if task.is_async:
                value = asyncio.run(_with_timeout(task.fn(*args, **kwargs), message.timeout))
            else:
                value = _call_with_timeout(task, args, kwargs, message.timeout)
        except Exception as error:
            return _failure(task, message, error)
        finally:
            _requestid.current.reset(token)
        return _success(task, message, value)

    async def arun(self, message: TaskMessage, executor: Executor | None = None) -> Outcome:
        """Run ``message`` on the running loop (a ``def`` task in ``executor``)::

        outcome = await registry.arun(message, executor=pool)
        """
        prepared = self._prepare(message)
        if isinstance(prepared, Outcome):
            return prepared
        task, args, kwargs = prepared
        token = _requestid.current.set(message.request_id)
        try:
            if task.is_async:
                value = await _with_timeout(task.fn(*args, **kwargs), message.timeout)
            else:
                loop = asyncio.get_running_loop()
                context = contextvars.copy_context()
                call = loop.run_in_executor(executor, lambda: context.run(task.fn, *args, **kwargs))
                # NOTE: a thread cannot be stopped; past its timeout the run counts as
                # failed and the thread finishes on its own.
                value = await _with_timeout(call, message.timeout)
        except Exception as error:
            return _failure(task, message, error)
        finally:
            _requestid.current.reset(token)
        return _success(task, message, value)

    def _prepare(
        self, message: TaskMessage
    ) -> Outcome | tuple[Task[Any, Any], list[Any], dict[str, Any]]:
        task = self.tasks.get(message.name)
        if task is None:
            return Outcome(
                state="failed",
                error=f"unknown task {message.name!r} (deployed code does not define it)",
            )
        try:
            args, kwargs = task.signature.decode(message.args, message.kwargs)
        except (TypeError, ValueError) as error:
            return Outcome(
                state="failed",
                error=f"the arguments of task {message.name!r} no longer decode: {error}",
            )
        return task, args, kwargs


async def _with_timeout(work: Any, seconds: float | None) -> Any:
    if seconds is None:
        return await work
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise TimeoutError(f"the task ran longer than its timeout of {seconds:g} s") from None


def _call_with_timeout(
    task: Task[Any, Any], args: list[Any], kwargs: dict[str, Any], timeout: float | None
) -> Any:
    if timeout is None:
        return task.fn(*args, **kwargs)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = task.fn(*args, **kwargs)
        except BaseException as error:
            box["error"] = error

    context = contextvars.copy_context()  # the request id, among others
    thread = threading.Thread(
        target=context.run, args=(target,), daemon=True, name=f"kettle-task {task.name}"
    )
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the task ran longer than its timeout of {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _success(task: Task[Any, Any], message: TaskMessage, value: Any) -> Outcome:
    try:
        return Outcome(state="done", result=msgspec.to_builtins(value))
    except (TypeError, ValueError) as error:
        return Outcome(
            state="failed",
            error=f"task {task.name!r} returned a value that cannot be stored as JSON: {error}",
        )


def _failure(task: Task[Any, Any], message: TaskMessage, error: Exception) -> Outcome:
    text = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_exception(error))
    if message.attempt >= message.max_retries:
        return Outcome(state="failed", error=text, traceback=trace)
    return Outcome(
        state="retry", error=text, traceback=trace, retry_at=utcnow() + backoff(task, message)
    )


def backoff(task: Task[Any, Any], message: TaskMessage) -> dt.timedelta:
    """The wait before the next attempt: exponential in the attempts so far, with jitter
    (0.5 to 1.5 times), at most an hour::

    backoff(task, message)   # about task.backoff * 2 ** message.attempt seconds
    """
    base = min(task.backoff * 2**message.attempt, MAX_BACKOFF)
    return dt.timedelta(seconds=base * random.uniform(0.5, 1.5))


def _where(task: Task[Any, Any]) -> str:
    return f"{task.fn.__module__}.{task.fn.__qualname__}"


__all__ = ["MAX_BACKOFF", "Outcome", "Registry", "backoff"]
