"""Helpers the tasks tests share: a site (app, Database, Tasks) and real worker processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from kettle import App, Settings
from kettle.db import Database
from kettle.tasks import Tasks
from kettle.tasks.models import TaskRow

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TASKS_TABLE: sa.Table = TaskRow.__table__  # type: ignore[assignment]
#: What the tasks of workerapp.py write: one row per run.
RUNS = sa.Table(
    "task_runs",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(100), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("finished", sa.Float, nullable=False),
)


@dataclass
class TaskSite:
    """An app with a Database and Tasks (database backend) on one engine."""

    app: App
    db: Database
    tasks: Tasks
    url: str

    def rows(self) -> list[sa.Row[tuple[object, ...]]]:
        with self.db.sync_engine.connect() as connection:
            return list(connection.execute(sa.select(TASKS_TABLE).order_by(TASKS_TABLE.c.id)))

    def states(self) -> dict[str, int]:
        query = sa.select(TASKS_TABLE.c.state, sa.func.count()).group_by(TASKS_TABLE.c.state)
        with self.db.sync_engine.connect() as connection:
            return {str(state): int(count) for state, count in connection.execute(query).all()}

    def runs(self) -> list[sa.Row[tuple[object, ...]]]:
        with self.db.sync_engine.connect() as connection:
            return list(connection.execute(sa.select(RUNS).order_by(RUNS.c.id)))


@contextlib.contextmanager
def make_site(root: Path, url: str, **options: float) -> Iterator[TaskSite]:
    app = App(settings=Settings.load(env="testing", env_file=None), root=root)
    db = Database(app, url=url)
    tasks = Tasks(app, **options)  # type: ignore[arg-type]
    for table in (TASKS_TABLE, RUNS):
        table.drop(db.sync_engine, checkfirst=True)
        table.create(db.sync_engine)
    try:
        yield TaskSite(app, db, tasks, url)
    finally:
        for table in (TASKS_TABLE, RUNS):
            table.drop(db.sync_engine, checkfirst=True)
        db.dispose()


def start_worker(
    url: str, *args: str, lease: float = 30.0, grace: float = 5.0, scheduler: bool = False
) -> subprocess.Popen[str]:
    """``kettle worker workerapp.py ARGS`` against ``url`` (its output in a pipe); the
    scheduler of periodic tasks only if asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env.update(
        {
            "KETTLE_ENV": "testing",
            "KETTLE_TASKS_TEST_DB": url,
            "KETTLE_TASKS_TEST_LEASE": str(lease),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO / "src")]),
        }
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kettle.cli",
            "worker",
            "workerapp.py",
            "--grace",
            str(grace),
            *args,
            *([] if scheduler else ["--no-scheduler"]),
        ],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal ``process`` and wait for it; returns its output."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


@contextlib.contextmanager
def workers(
    url: str, count: int, *args: str, scheduler: bool = False
) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` workers for the block, stopped (SIGTERM) after it."""
    processes = [start_worker(url, *args, scheduler=scheduler) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            output = stop_worker(process)
            if process.returncode not in (0, -signal.SIGKILL):
                print(output)


def wait_until(check: object, *, within: float = 45.0, what: str = "the tasks to finish") -> None:
    """Poll ``check()`` until true; fail after ``within`` seconds (a bound, not a timing)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"Gave up waiting for {what} after {within} s.")


def overlapping(runs: Sequence[sa.Row[tuple[object, ...]]]) -> list[str]:
    """Keys with two runs that overlap in time (a task run twice at once)."""
    by_key: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        by_key.setdefault(str(run.key), []).append((float(run.started), float(run.finished)))
    bad = []
    for key, spans in by_key.items():
        spans.sort()
        if any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
            bad.append(key)
    return bad
