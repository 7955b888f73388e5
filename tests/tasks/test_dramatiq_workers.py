"""Real ``kettle worker`` processes on the Redis backend (Dramatiq): two workers share
the work, a SIGKILLed worker loses nothing, SIGTERM lets running tasks finish, and the
scheduler fires each tick once however many workers run it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from taskhelpers import overlapping, stop_worker, wait_until

from kettle.tasks._message import TaskMessage
from kettle.tasks.dramatiq import DramatiqBackend

pytestmark = pytest.mark.process

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REDIS = "redis://127.0.0.1:6379/0"


class Run:
    def __init__(self, data: bytes) -> None:
        fields = json.loads(data)
        self.key, self.pid = fields["key"], fields["pid"]
        self.started, self.finished = fields["started"], fields["finished"]


@pytest.fixture
def url() -> Iterator[str]:
    namespace = f"kw{uuid.uuid4().hex[:10]}"
    yield f"{REDIS}?namespace={namespace}&visibility_timeout=2"
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}:*", count=1000):
        client.delete(key)


def runs(backend: DramatiqBackend) -> list[Run]:
    return [Run(item) for item in backend.client.lrange(f"{backend.namespace}:runs", 0, -1)]


def start(url: str, *args: str, grace: float = 5.0, scheduler: bool = False) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env |= {
        "KETTLE_ENV": "testing",
        "KETTLE_TASKS_URL": url,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO / "src")]),
    }
    command = [sys.executable, "-m", "kettle.cli", "worker", "redisworkerapp.py"]
    command += ["--grace", str(grace), *args, *([] if scheduler else ["--no-scheduler"])]
    return subprocess.Popen(
        command,
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def workers(url: str, count: int, *args: str, **options: Any) -> Iterator[list[Any]]:
    processes = [start(url, *args, **options) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            output = stop_worker(process)
            if process.returncode not in (0, -signal.SIGKILL):
                print(output)


def send(backend: DramatiqBackend, keys: list[str], seconds: float = 0.0) -> list[str]:
    messages = [TaskMessage.new("rw.work", [key, seconds], {}) for key in keys]
    for start_at in range(0, len(messages), 500):
        backend.send(messages[start_at : start_at + 500])
    return [message.id for message in messages]


def done(backend: DramatiqBackend) -> int:
    return int(backend.client.zcard(f"{backend.namespace}:state:done"))


def test_two_workers_share_the_tasks_and_run_each_once(url: str) -> None:
    backend = DramatiqBackend(url)
    keys = [f"k{i}" for i in range(300)]
    with workers(url, 2, "--concurrency", "4"):
        # Both polling before the tasks come: on a busy machine one worker may otherwise
        # run them all while the other is still starting.
        beats = f"{backend.namespace}:dramatiq:__heartbeats__"
        wait_until(lambda: backend.client.zcard(beats) == 2, what="both workers to poll")
        ids = send(backend, keys)
        wait_until(lambda: done(backend) == 300)
    finished = runs(backend)
    assert sorted(run.key for run in finished) == sorted(keys)
    assert len({run.pid for run in finished}) == 2  # both workers took some
    assert backend.get(ids[0]).result == "k0"


def test_a_worker_killed_mid_run_loses_nothing(url: str) -> None:
    """2,000 tasks through two workers; one is SIGKILLed mid-run; every task completes
    (its unacknowledged tasks go back to the queue after the visibility timeout)."""
    backend = DramatiqBackend(url)
    keys = [f"t{i}" for i in range(2000)]
    send(backend, keys, 0.005)
    first = start(url, "--concurrency", "4")
    second = start(url, "--concurrency", "4")
    try:
        wait_until(lambda: len({run.pid for run in runs(backend)}) == 2 and done(backend) > 300)
        victim = first.pid
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert done(backend) < 2000  # it died mid-run
        wait_until(lambda: done(backend) == 2000, within=60)
    finally:
        stop_worker(first, signal.SIGKILL)
        stop_worker(second)
    finished = runs(backend)
    assert {run.key for run in finished} == set(keys)  # none lost
    assert any(run.pid == victim for run in finished)
    # At-least-once: a task the victim was running may have run twice, never at once.
    assert len(finished) - 2000 <= 4 * 2 + 8 * 2  # its threads and prefetched messages
    assert backend.list(state="running") == []


def test_sigterm_lets_running_tasks_finish_and_leaves_the_rest_queued(url: str) -> None:
    backend = DramatiqBackend(url)
    slow = send(backend, ["slow"], 1.5)
    rest = send(backend, [f"r{i}" for i in range(20)], 1.5)
    worker = start(url, "--concurrency", "1", grace=10)
    try:
        wait_until(lambda: backend.get(slow[0]).state == "running")
    finally:
        output = stop_worker(worker)
    assert worker.returncode == 0, output
    assert backend.get(slow[0]).state == "done"  # finished within the grace period
    states = [backend.get(task_id).state for task_id in rest]
    assert states.count("pending") >= 19  # the prefetched ones went back to Redis
    assert [run.key for run in runs(backend)][:1] == ["slow"]
    # ... and the next worker runs them.
    with workers(url, 1, "--concurrency", "8"):
        wait_until(lambda: done(backend) == 21)


def test_the_scheduler_fires_each_tick_once_with_two_workers(url: str) -> None:
    backend = DramatiqBackend(url)
    with workers(url, 2, "--concurrency", "2", scheduler=True):
        wait_until(lambda: done(backend) >= 4, what="four ticks")
    ticks = [run for run in runs(backend) if run.key == "tick"]
    records = [r for r in backend.list(limit=1000) if r.name == "rw.tick"]
    assert len(ticks) == len({r.id for r in records if r.state == "done"}) >= 4
    # A tick fired by both schedulers is stored once (its id is the tick's) and run once.


def test_runs_never_overlap_for_one_task(url: str) -> None:
    backend = DramatiqBackend(url)
    send(backend, [f"o{i}" for i in range(100)], 0.01)
    with workers(url, 2, "--concurrency", "3"):
        wait_until(lambda: done(backend) == 100)
    assert overlapping(runs(backend)) == []  # type: ignore[arg-type]
