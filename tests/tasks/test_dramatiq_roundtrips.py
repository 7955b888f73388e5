"""The Redis worker's round trips: a task's outcome rides with the same thread's next
start (one round trip per task, as Dramatiq alone makes), and stopping writes the outcomes
still held, acknowledgements included, so nothing is handed out again."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from kettle.tasks._message import TaskMessage
from kettle.tasks._registry import Registry
from kettle.tasks._task import task
from kettle.tasks.dramatiq import DramatiqBackend

REDIS = "redis://127.0.0.1:6379/0"
TASKS = 200


@task(name="h13.noop")
def noop(n: int) -> int:
    return n


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"kr{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{name}:*", count=1000):
        client.delete(key)


def test_one_round_trip_per_task_and_stop_writes_what_is_held(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = DramatiqBackend(f"{REDIS}?namespace={namespace}")
    ids = backend.send([TaskMessage.new(noop.name, [n], {}) for n in range(TASKS)])
    loop = backend.worker(Registry([noop]), queues=["default"], concurrency=4)
    loop._held.delay = 3600  # type: ignore[attr-defined]  # no flush by time: by the next start only

    sent: Counter[str] = Counter()
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        if threading.current_thread() is not threading.main_thread():
            packed = b"".join(command) if isinstance(command, list) else command
            sent[packed.split(b"\r\n")[2].decode()] += 1  # *<n>, $<len>, then the name
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while loop.counts.done < TASKS:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"{loop.counts} of {TASKS}"  # type: ignore[attr-defined]
        time.sleep(0.02)
    loop.stop(grace=5)
    thread.join(30)
    monkeypatch.undo()

    # A transaction a task (its start, with the outcome before it) where each outcome as a
    # round trip of its own would make two; fetches (a script) come in batches. Fetches
    # also poll while the prefetched tasks run, so a busy machine makes more of them.
    assert sent["MULTI"] <= TASKS + 4, sent  # the last outcomes: one flush per thread
    assert sent["EVALSHA"] < TASKS / 2, sent
    # Beside them only connection set-up (CLIENT SETINFO, SCRIPT LOAD): a handful.
    assert sum(sent.values()) - sent["MULTI"] - sent["EVALSHA"] <= 16, sent
    assert {backend.get(task_id).state for task_id in ids} == {"done"}  # type: ignore[union-attr]
    client = redis.Redis.from_url(REDIS)
    unacknowledged = list(client.scan_iter(f"{namespace}:dramatiq:__acks__*"))
    assert unacknowledged == []
