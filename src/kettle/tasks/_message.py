"""``TaskMessage``: what travels from ``enqueue`` to a worker, the same for every backend.

A msgspec Struct encoded as JSON; arguments were checked against the task's signature
before the message was made, so a worker only has to decode them::

    message = TaskMessage.new("news.tasks.send_mail", ["ann@example.com"], {}, queue="mail")
    decode(encode(message)) == message   # True
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec

from kettle import _requestid

#: The states of a task, in the order a task normally passes through them.
State = Literal["pending", "running", "done", "failed", "cancelled"]
STATES: tuple[State, ...] = ("pending", "running", "done", "failed", "cancelled")
#: States in which a unique key still collapses new enqueues into the existing task.
ACTIVE: tuple[State, ...] = ("pending", "running")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (what every timestamp here is)::

    utcnow().tzinfo is dt.UTC   # True
    """
    return dt.datetime.now(dt.UTC)


class TaskMessage(msgspec.Struct, kw_only=True):
    """One enqueued call of a task: ``name(*args, **kwargs)`` plus delivery options::

    TaskMessage.new("app.add", [1, 2], {}).name   # "app.add"
    """

    #: A uuid4 in hex; also the id of the task's ``TaskHandle`` and ``TaskRecord``.
    id: str
    #: The task's registered name (``module.function`` unless given to ``@task``).
    name: str
    #: Positional arguments, already converted to JSON-compatible values.
    args: list[Any]
    #: Keyword arguments, likewise.
    kwargs: dict[str, Any]
    #: The queue it goes to; a worker takes the queues given to ``--queues``.
    queue: str = "default"
    #: Higher runs first among tasks that are due.
    priority: int = 0
    #: Not before this time (None: as soon as a worker is free).
    eta: dt.datetime | None = None
    #: How many times the task has been started before (0 on the first run).
    attempt: int = 0
    #: How many more attempts a failing run gets (``@task(retries=...)``).
    max_retries: int = 0
    #: Seconds one run may take (None: no limit).
    timeout: float | None = None
    #: Enqueues with the same key collapse while the first is pending or running.
    unique_key: str | None = None
    #: When ``enqueue`` was called (UTC).
    enqueued_at: dt.datetime = msgspec.field(default_factory=utcnow)
    #: The id of the request that enqueued it (``request.id``), stamped on the log
    #: records the task emits; None when enqueued outside a request.
    request_id: str | None = None

    @classmethod
    def new(
        cls,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        **options: Any,
    ) -> TaskMessage:
        """A message with a fresh id::

        TaskMessage.new("app.add", [1, 2], {}, queue="math", priority=5)
        """
        options.setdefault("request_id", _requestid.current.get())
        return cls(id=uuid.uuid4().hex, name=name, args=args, kwargs=kwargs, **options)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(TaskMessage)


def encode(message: TaskMessage) -> bytes:
    """The message as JSON bytes (what a broker carries)::

    encode(TaskMessage.new("app.add", [1, 2], {}))   # b'{"id":"...","name":"app.add",...}'
    """
    return _encoder.encode(message)


def decode(data: bytes | str) -> TaskMessage:
    """The message ``encode`` made; raises ``msgspec.DecodeError`` on anything else::

    decode(encode(message)).id == message.id   # True
    """
    return _decoder.decode(data)


__all__ = ["ACTIVE", "STATES", "State", "TaskMessage", "decode", "encode", "utcnow"]
