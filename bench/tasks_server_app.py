"""The app ``bench/tasks_distributed.py --server`` serves with Granian: routes with and
without one ``enqueue`` to Redis, ``def`` and ``async def``, with and without a row written
in the request's unit of work (SQLite).

Configured by the environment the benchmark sets: ``KETTLE_BENCH_TASKS_URL`` (the Redis
URL, with its namespace) and ``KETTLE_BENCH_DB`` (the SQLite file)::

    KETTLE_BENCH_TASKS_URL=redis://127.0.0.1:6379/0 KETTLE_BENCH_DB=/tmp/b.sqlite3 \\
        .venv/bin/granian --interface asgi bench.tasks_server_app:app
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from kettle import App, Settings
from kettle.db import Database, async_session, sync_session
from kettle.tasks import Tasks, task

PEOPLE = sa.Table(
    "bench_task_people",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50), nullable=False),
)

app = App(settings=Settings.load(env="production", env_file=None))
db = Database(app, url=f"sqlite:///{os.environ['KETTLE_BENCH_DB']}")
tasks = Tasks(app, url=os.environ["KETTLE_BENCH_TASKS_URL"])


@task(name="bench.mail")
def mail(user_id: int, site: str) -> None:
    """Never runs here: the benchmark only measures the enqueue."""


@app.post("/plain")
def plain() -> str:
    return "ok"


@app.post("/enqueue")
def enqueue() -> str:
    mail.enqueue(42, "https://example.org")
    return "ok"


@app.post("/aplain")
async def aplain() -> str:
    return "ok"


@app.post("/aenqueue")
async def aenqueue() -> str:
    await mail.aenqueue(42, "https://example.org")
    return "ok"


@app.post("/write")
def write() -> str:
    sync_session().execute(PEOPLE.insert().values(name="ann"))
    return "ok"


@app.post("/write-enqueue")
def write_enqueue() -> str:
    sync_session().execute(PEOPLE.insert().values(name="ann"))
    mail.enqueue(42, "https://example.org")
    return "ok"


@app.post("/awrite")
async def awrite() -> str:
    await async_session().execute(PEOPLE.insert().values(name="ann"))
    return "ok"


@app.post("/awrite-enqueue")
async def awrite_enqueue() -> str:
    await async_session().execute(PEOPLE.insert().values(name="ann"))
    await mail.aenqueue(42, "https://example.org")
    return "ok"
