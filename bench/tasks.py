"""Tasks on the database backend (issue #15): what an enqueue adds to a request, and how
many no-op tasks one worker runs a second.

Run from the repository root (PostgreSQL on 5432 for the postgresql rows)::

    .venv/bin/python bench/tasks.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/tasks.py --engines sqlite --tasks 2000

Measured on each engine:

- **request**: an in-process request (ASGI, ``TestClient``) that writes one row, with and
  without ``task.enqueue`` in it, and one that only reads, with and without; the cost is
  the difference of the medians of interleaved batches. In a request that writes, the
  task's row joins its transaction; in one that only reads, the enqueue opens one.
- **tasks/s**: the queue is filled first, then one worker (``DatabaseWorker``, the loop of
  ``kettle worker``, here in a thread of this process) with ``--concurrency`` slots
  empties it; the tasks do nothing, ``def`` and ``async def``.

Results go to bench/results/tasks.json and .md. The distributed backend has its own
benchmark (bench/tasks_distributed.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
POSTGRES = os.environ.get("KETTLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_DB = f"kettle_bench_tasks_{os.getpid()}"

from kettle import App, Settings  # noqa: E402
from kettle.db import Database, sync_session  # noqa: E402
from kettle.tasks import CallOptions, Tasks, task  # noqa: E402
from kettle.tasks._dbworker import DatabaseWorker  # noqa: E402
from kettle.testing import TestClient  # noqa: E402

PEOPLE = sa.Table(
    "bench_people",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50), nullable=False),
)


@task
def noop(n: int) -> None:
    """The task of every measure: nothing to do."""


@task
async def anoop(n: int) -> None:
    """The same, ``async def``."""


def build(url: str, root: Path) -> tuple[App, Database, Tasks]:
    app = App(settings=Settings.load(env="testing", env_file=None), root=root)
    db = Database(app, url=url)
    tasks = Tasks(app)
    tables = [PEOPLE, db.metadata.tables["kettle_tasks"]]
    for table in tables:
        table.drop(db.sync_engine, checkfirst=True)
        table.create(db.sync_engine)

    @app.post("/write")
    def write() -> str:
        sync_session().execute(PEOPLE.insert().values(name="ann"))
        return "ok"

    @app.post("/write-enqueue")
    def write_enqueue() -> str:
        sync_session().execute(PEOPLE.insert().values(name="ann"))
        noop.enqueue(1)
        return "ok"

    @app.get("/read")
    def read() -> str:
        sync_session().execute(sa.select(PEOPLE.c.id).limit(1)).all()
        return "ok"

    @app.post("/read-enqueue")
    def read_enqueue() -> str:
        sync_session().execute(sa.select(PEOPLE.c.id).limit(1)).all()
        noop.enqueue(1)
        return "ok"

    return app, db, tasks


def per_request(client: TestClient, method: str, path: str, count: int) -> tuple[float, float]:
    """Seconds per request: wall clock, and CPU of this process (every thread; the
    PostgreSQL server's CPU is not in it, SQLite's is)."""
    send: Callable[[str], Any] = client.post if method == "POST" else client.get
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        send(path)
    return (time.perf_counter() - start) / count, (time.process_time() - cpu) / count


def measure_requests(app: App, batches: int, batch: int) -> dict[str, tuple[float, float]]:
    """Seconds per request of each route (wall, CPU), batches interleaved; the fastest
    batch of each, the one least slowed by the other work of a shared machine."""
    routes = [
        ("POST", "/write"),
        ("POST", "/write-enqueue"),
        ("GET", "/read"),
        ("POST", "/read-enqueue"),
    ]
    timings: dict[str, list[tuple[float, float]]] = {path: [] for _, path in routes}
    with TestClient(app) as client:
        for method, path in routes:  # warm up
            per_request(client, method, path, 50)
        for _ in range(batches):
            for method, path in routes:
                timings[path].append(per_request(client, method, path, batch))
    return {
        path: (min(v[0] for v in values), min(v[1] for v in values))
        for path, values in timings.items()
    }


def measure_enqueue(db: Database, batches: int, batch: int) -> float:
    """Seconds one ``enqueue`` adds inside a unit of work that writes anyway (its commit
    is shared): ``batch`` enqueues in one ``db.session()``, the fastest of ``batches``."""
    best = float("inf")
    for _ in range(batches):
        with db.session():
            noop.enqueue(0)  # the unit's transaction is open
            start = time.perf_counter()
            for n in range(batch):
                noop.enqueue(n)
            best = min(best, (time.perf_counter() - start) / batch)
    return best


def measure_worker(tasks: Tasks, which: Any, count: int, concurrency: int) -> float:
    """Tasks per second of one worker emptying a queue of ``count`` no-op tasks."""
    backend = tasks.backend
    for start in range(0, count, 1000):
        backend.send(
            [which.message((n,), {}, CallOptions()) for n in range(start, min(count, start + 1000))]
        )
    loop = backend.worker(tasks.registry(), queues=["default"], concurrency=concurrency)
    assert isinstance(loop, DatabaseWorker)
    thread = threading.Thread(target=loop.run)
    began = time.perf_counter()
    thread.start()
    while loop.counts.done < count:
        time.sleep(0.002)
    elapsed = time.perf_counter() - began
    loop.stop(grace=5)
    thread.join()
    return count / elapsed


def engine_url(engine: str, root: Path) -> str | None:
    if engine == "sqlite":
        return f"sqlite:///{root / 'bench.sqlite3'}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{BENCH_DB}"')
    except Exception as error:
        print(f"no PostgreSQL at {POSTGRES}: {error}; skipping it", file=sys.stderr)
        return None
    finally:
        admin.dispose()
    return sa.make_url(POSTGRES).set(database=BENCH_DB).render_as_string(hide_password=False)


def drop(engine: str) -> None:
    if engine != "postgresql":
        return
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{BENCH_DB}'"
        )
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    admin.dispose()


def run(
    engines: list[str], count: int, concurrency: int, batches: int, batch: int
) -> list[dict[str, Any]]:
    rows = []
    for engine in engines:
        with tempfile.TemporaryDirectory() as folder:
            url = engine_url(engine, Path(folder))
            if url is None:
                continue
            try:
                app, db, tasks = build(url, Path(folder))
                times = measure_requests(app, batches, batch)
                enqueue = measure_enqueue(db, batches, batch)
                def_rate = measure_worker(tasks, noop, count, concurrency)
                async_rate = measure_worker(tasks, anoop, count, concurrency)
                db.dispose()
            finally:
                drop(engine)
        row = {
            "engine": engine,
            "load_average": os.getloadavg()[0],
            "enqueue_in_unit_us": enqueue * 1e6,
            "request_write_us": times["/write"][0] * 1e6,
            "enqueue_in_write_us": (times["/write-enqueue"][0] - times["/write"][0]) * 1e6,
            "enqueue_in_write_cpu_us": (times["/write-enqueue"][1] - times["/write"][1]) * 1e6,
            "request_read_us": times["/read"][0] * 1e6,
            "enqueue_in_read_us": (times["/read-enqueue"][0] - times["/read"][0]) * 1e6,
            "enqueue_in_read_cpu_us": (times["/read-enqueue"][1] - times["/read"][1]) * 1e6,
            "def_tasks_per_s": def_rate,
            "async_tasks_per_s": async_rate,
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def report(rows: list[dict[str, Any]], count: int, concurrency: int) -> str:
    lines = [
        f"Database backend, one worker, concurrency {concurrency}, {count:,} no-op tasks a run.",
        "",
        "| engine | enqueue in a unit that writes | request that writes | + enqueue (CPU) "
        "| request that reads | + enqueue (CPU) | def tasks/s | async tasks/s | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['engine']} | {r['enqueue_in_unit_us']:.0f} µs | {r['request_write_us']:.0f} µs "
            f"| +{r['enqueue_in_write_us']:.0f} µs ({r['enqueue_in_write_cpu_us']:.0f}) "
            f"| {r['request_read_us']:.0f} µs "
            f"| +{r['enqueue_in_read_us']:.0f} µs ({r['enqueue_in_read_cpu_us']:.0f}) "
            f"| {r['def_tasks_per_s']:,.0f} | {r['async_tasks_per_s']:,.0f} "
            f"| {r['load_average']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()
    rows = run(args.engines.split(","), args.tasks, args.concurrency, args.batches, args.batch)
    text = report(rows, args.tasks, args.concurrency)
    print(text)
    if not args.no_save:
        (HERE / "results" / "tasks.json").write_text(json.dumps(rows, indent=2) + "\n")
        (HERE / "results" / "tasks.md").write_text(text)


if __name__ == "__main__":
    main()
