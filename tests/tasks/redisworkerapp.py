"""The app the Redis worker-process tests run: ``kettle worker redisworkerapp.py``.

Tasks wait in Redis (``KETTLE_TASKS_URL``, with the test's namespace and visibility
timeout); each run is recorded in Redis too, under ``<namespace>:runs``: the task's key,
the worker's pid, and its start and end time.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import parse_qs, urlsplit

import redis

from kettle import App
from kettle.tasks import Tasks, task

URL = os.environ["KETTLE_TASKS_URL"]
NAMESPACE = parse_qs(urlsplit(URL).query)["namespace"][0]
RUNS = f"{NAMESPACE}:runs"
client = redis.Redis.from_url(URL.partition("?")[0])

app = App()
tasks = Tasks(app)


def record(key: str, started: float) -> None:
    run = {"key": key, "pid": os.getpid(), "started": started, "finished": time.time()}
    client.rpush(RUNS, json.dumps(run))


@task(name="rw.work")
def work(key: str, seconds: float = 0.0) -> str:
    started = time.time()
    time.sleep(seconds)
    record(key, started)
    return key


@task(name="rw.tick", cron="* * * * * *")
def tick() -> None:
    record("tick", time.time())
