"""The tasks the worker-process tests enqueue and ``workerapp.py`` runs.

Each writes a row to ``task_runs`` (key, pid, start and end time) in the database of the
current ``Tasks``, so a test can see what ran, where and when.
"""

from __future__ import annotations

import asyncio
import os
import time

from taskhelpers import RUNS

from kettle.tasks import current, task


def record(key: str, started: float) -> None:
    engine = current().backend.database.sync_engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            RUNS.insert().values(key=key, pid=os.getpid(), started=started, finished=time.time())
        )


@task
def work(key: str, seconds: float = 0.0) -> str:
    started = time.time()
    if seconds:
        time.sleep(seconds)
    record(key, started)
    return key


@task(queue="other")
async def awork(key: str, seconds: float = 0.0) -> str:
    started = time.time()
    if seconds:
        await asyncio.sleep(seconds)
    await asyncio.to_thread(record, key, started)
    return key


@task(retries=2, backoff=0.05)
def always_fails(key: str) -> None:
    record(key, time.time())
    raise RuntimeError(f"{key} cannot be done")


@task(timeout=0.3)
async def too_slow() -> None:
    await asyncio.sleep(30)


@task(cron="* * * * * *")
def every_second() -> None:
    record("tick", time.time())
