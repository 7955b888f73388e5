"""The database worker in a thread of the test, on all three engines: its event loop is
closed only after its async engines are disposed (aiomysql left "Event loop is closed"
errors behind), and a task's arguments and result may be larger than MySQL's 64 KB TEXT."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from taskhelpers import TaskSite

from kettle.tasks import task
from kettle.tasks._active import activated
from kettle.tasks._registry import Registry


@task(name="h14db.leaf")
def leaf(n: int) -> int:
    return n


@task(name="h14db.echo")
def echo(text: str) -> str:
    return text


@task(name="h14db.fan_out")
async def fan_out(n: int) -> None:
    # Enqueued from async code on the worker's loop: through that loop's async engine.
    await leaf.aenqueue(n)


def run_worker(site: TaskSite, until: Callable[[], bool]) -> None:
    """Run a worker loop in a thread until ``until()`` holds, then stop it."""
    registry = Registry([leaf, fan_out, echo])
    loop = site.tasks.backend.worker(registry, queues=["default"], concurrency=2)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not until():
        assert time.monotonic() < deadline, site.rows()
        time.sleep(0.05)
    loop.stop(grace=5)
    thread.join(30)
    assert not thread.is_alive()


def test_the_worker_disposes_its_loops_engines_before_closing_it(
    site: TaskSite, monkeypatch: Any
) -> None:
    unraisable: list[str] = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda hook: unraisable.append(f"{hook.exc_type}: {hook.exc_value}")
    )
    with activated(site.tasks):
        fan_out.enqueue(1)
    run_worker(site, lambda: sorted(row.state for row in site.rows()) == ["done", "done"])
    # Connections the loop left open would complain now, closed against a closed loop.
    site.db.dispose()
    gc.collect()
    assert unraisable == []


def test_a_task_with_a_megabyte_argument_round_trips(site: TaskSite) -> None:
    text = "0123456789abcdef" * 65536
    with activated(site.tasks):
        handle = echo.enqueue(text)
    run_worker(site, lambda: handle.refresh().state == "done")
    assert handle.result == text
