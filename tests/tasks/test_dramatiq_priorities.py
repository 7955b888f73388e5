"""Priorities on the Redis backend: a worker takes higher-priority tasks first, delayed
ones included (the real Redis of this machine; the worker in a thread of the test)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from kettle.tasks import Tasks
from kettle.tasks._active import activated
from kettle.tasks._message import TaskMessage, utcnow
from kettle.tasks._registry import Registry
from kettle.tasks._task import task
from kettle.tasks.dramatiq import DramatiqBackend, band_queues

REDIS = "redis://127.0.0.1:6379/0"
ORDER: list[str] = []
GATE = threading.Event()


@task(name="h14.record")
def record(label: str) -> None:
    ORDER.append(label)


@task(name="h14.urgent", priority=3)
def urgent(label: str) -> None:
    ORDER.append(label)


@task(name="h14.block")
def block() -> None:
    ORDER.append("block")
    GATE.wait(30)


REGISTRY = Registry([record, urgent, block])


@pytest.fixture
def backend() -> Iterator[DramatiqBackend]:
    namespace = f"kp{uuid.uuid4().hex[:10]}"
    ORDER.clear()
    GATE.clear()
    yield DramatiqBackend(f"{REDIS}?namespace={namespace}")
    GATE.set()
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}:*", count=1000):
        client.delete(key)


@pytest.fixture
def start(backend: DramatiqBackend) -> Iterator[Callable[[], Any]]:
    """Start a worker of one thread on ``default`` (stopped at the end of the test)."""
    started: list[tuple[Any, threading.Thread]] = []

    def run() -> Any:
        loop = backend.worker(REGISTRY, queues=["default"], concurrency=1)
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        started.append((loop, thread))
        return loop

    yield run
    GATE.set()
    for loop, thread in started:
        loop.stop(grace=5)
        thread.join(10)


def until(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what}: {ORDER}"
        time.sleep(0.01)


def test_a_worker_takes_the_higher_priorities_first(backend: DramatiqBackend, start) -> None:
    tasks = Tasks(url=backend.url + f"?namespace={backend.namespace}")
    tasks.backend = backend
    with activated(tasks):  # enqueued through the API: per task and per call
        for n in range(15):
            record.options(priority=-1).enqueue(f"low{n}")
        for n in range(15):
            record.enqueue(f"normal{n}")
        urgent.enqueue("task3")  # the task's own priority
        record.options(priority=7).enqueue("call7")
        record.options(priority=1).enqueue("call1")
    start()
    until(lambda: len(ORDER) == 33, "all 33 ran")
    # The high band first (first in, first out within it), then the default, then low.
    assert ORDER[:] == [
        "task3",
        "call7",
        "call1",
        *(f"normal{n}" for n in range(15)),
        *(f"low{n}" for n in range(15)),
    ]


def test_delayed_tasks_keep_their_priority(backend: DramatiqBackend, start) -> None:
    # A worker of one thread, held by a task, with one more message prefetched: what is
    # sent now waits in Redis until the gate opens.
    backend.send([TaskMessage.new("h14.block", [], {})])
    start()
    until(lambda: ORDER == ["block"], "the blocking task started")
    backend.send([TaskMessage.new("h14.record", ["prefetched"], {})])
    queues = band_queues("default")
    key = f"{backend.namespace}:dramatiq:"
    until(lambda: backend.client.llen(key + queues[1]) == 0, "the worker prefetched")
    due = utcnow() + dt.timedelta(seconds=0.3)
    backend.send(
        [TaskMessage.new("h14.record", [f"low{n}"], {}, priority=-2, eta=due) for n in range(4)]
        + [TaskMessage.new("h14.record", [f"high{n}"], {}, priority=2, eta=due) for n in range(3)]
    )
    # Once due, the worker moves them out of the delay queues into their bands.
    until(lambda: backend.client.llen(key + queues[0]) == 3, "the high ones moved")
    until(lambda: backend.client.llen(key + queues[2]) == 4, "the low ones moved")
    GATE.set()
    until(lambda: len(ORDER) == 9, "all 9 ran")
    # Delayed tasks due at the same moment have no order among themselves in Dramatiq;
    # between the bands they do.
    assert ORDER[:2] == ["block", "prefetched"]
    assert sorted(ORDER[2:5]) == [f"high{n}" for n in range(3)]
    assert sorted(ORDER[5:]) == [f"low{n}" for n in range(4)]
