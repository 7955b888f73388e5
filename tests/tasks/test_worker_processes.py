"""Real ``kettle worker`` processes on the database backend: claims with two workers,
SIGKILL mid-run, SIGTERM grace, retries, timeouts, bad messages and the cron scheduler."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa
from taskhelpers import (
    TASKS_TABLE,
    TaskSite,
    overlapping,
    start_worker,
    stop_worker,
    wait_until,
    workers,
)
from workertasks import always_fails, awork, too_slow, work

from kettle.tasks import CallOptions

pytestmark = pytest.mark.process


def send(site: TaskSite, *calls: tuple[object, tuple[object, ...]]) -> list[str]:
    messages = [task.message(args, {}, CallOptions()) for task, args in calls]  # type: ignore[attr-defined]
    return list(site.tasks.backend.send(messages) or ())


def test_two_workers_run_every_task_exactly_once(site: TaskSite) -> None:
    keys = [f"d{i}" for i in range(120)]
    akeys = [f"a{i}" for i in range(40)]
    send(site, *[(work, (k,)) for k in keys], *[(awork, (k,)) for k in akeys])
    with workers(site.url, 2, "--queues", "default,other", "--concurrency", "3"):
        wait_until(lambda: site.states() == {"done": 160})
    runs = site.runs()
    assert sorted(str(r.key) for r in runs) == sorted(keys + akeys)
    assert overlapping(runs) == []
    results = {row.name: row.result for row in site.rows() if row.unique_key is None}
    assert results["workertasks.work"].startswith('"d')


def test_a_worker_killed_mid_run_loses_nothing(
    engine_urls: dict[str, str | None], tmp_path: object
) -> None:
    """2,000 tasks through two workers; one is SIGKILLed mid-run; every task completes."""
    from pathlib import Path

    from taskhelpers import make_site

    url = engine_urls["postgresql"]
    if url is None:
        pytest.skip("no postgresql server here (set CI=true to make this an error)")
    with make_site(Path(str(tmp_path)), url) as site:
        keys = [f"t{i}" for i in range(2000)]
        for start in range(0, 2000, 500):
            send(site, *[(work, (k, 0.01)) for k in keys[start : start + 500]])
        first = start_worker(url, "--concurrency", "4", lease=2.0)
        second = start_worker(url, "--concurrency", "4", lease=2.0)
        try:
            # Kill the first worker once both have done work, while it runs tasks.
            wait_until(
                lambda: {first.pid, second.pid} <= {r.pid for r in site.runs()},
                what="both workers to run tasks",
            )
            first.kill()
            first.wait()
            wait_until(lambda: site.states() == {"done": 2000}, what="all 2,000 tasks")
        finally:
            stop_worker(first)
            output = stop_worker(second)
        runs = site.runs()
        assert {str(r.key) for r in runs} == set(keys), output
        assert overlapping(runs) == []
        # The killed worker's claimed tasks ran again after their lease ran out.
        assert any(row.attempts > 1 for row in site.rows())
        assert "reclaimed" in output


def test_sigterm_lets_the_running_task_finish_and_leaves_the_rest_queued(
    sqlite_site: TaskSite,
) -> None:
    site = sqlite_site
    long_id, *queued = send(site, (work, ("long", 1.5)), (work, ("q1",)), (work, ("q2",)))
    process = start_worker(site.url, "--concurrency", "1")
    try:
        wait_until(lambda: _state(site, long_id) == "running", what="the long task to start")
    finally:
        output = stop_worker(process, signal.SIGTERM)
    assert process.returncode == 0, output
    assert _state(site, long_id) == "done"
    assert [str(r.key) for r in site.runs()] == ["long"]
    assert [_state(site, task_id) for task_id in queued] == ["pending", "pending"]


def test_a_task_still_running_after_the_grace_period_goes_back_to_the_queue(
    sqlite_site: TaskSite,
) -> None:
    site = sqlite_site
    (stuck,) = send(site, (work, ("stuck", 30.0)))
    process = start_worker(site.url, "--concurrency", "1", grace=0.2)
    try:
        wait_until(lambda: _state(site, stuck) == "running", what="the task to start")
    finally:
        output = stop_worker(process, signal.SIGTERM)
    assert process.returncode == 0, output
    (row,) = site.rows()
    assert (row.state, row.attempts, row.locked_by) == ("pending", 0, None)
    assert "back in the queue" in output


def test_failures_retries_timeouts_and_bad_messages_never_stop_the_worker(
    site: TaskSite,
) -> None:
    (failing,) = send(site, (always_fails, ("f",)))
    (slow,) = send(site, (too_slow, ()))
    # An old deploy's task, and a row whose arguments no longer decode.
    gone = work.message(("x",), {}, CallOptions())
    gone.name = "old.deploy.task"
    broken = work.message(("y",), {}, CallOptions())
    site.tasks.backend.send([gone, broken])
    with site.db.sync_engine.begin() as connection:
        connection.execute(
            sa.update(TASKS_TABLE)
            .where(TASKS_TABLE.c.task_id == broken.id)
            .values(payload='{"args": [1, 2')
        )
    wrong = work.message(("z",), {}, CallOptions())
    wrong.args = [{"not": "a string"}]
    (after,) = send(site, (work, ("after",)))
    site.tasks.backend.send([wrong])
    with workers(site.url, 1, "--concurrency", "2"):
        wait_until(lambda: site.states() == {"failed": 5, "done": 1})
    rows = {row.task_id: row for row in site.rows()}
    assert rows[failing].attempts == 3
    assert rows[failing].error == "RuntimeError: f cannot be done"
    assert "always_fails" in rows[failing].traceback
    assert [str(r.key) for r in site.runs()].count("f") == 3
    assert "ran longer than its timeout of 0.3 s" in rows[slow].error
    assert rows[gone.id].error == (
        "unknown task 'old.deploy.task' (deployed code does not define it)"
    )
    assert "stored arguments of task 'workertasks.work' do not decode" in rows[broken.id].error
    assert "no longer decode" in rows[wrong.id].error
    assert "Expected `str`, got `object`" in rows[wrong.id].error
    assert rows[after].state == "done"


def test_the_scheduler_fires_each_tick_once_with_two_workers(site: TaskSite) -> None:
    with workers(site.url, 2, "--concurrency", "2", scheduler=True):
        wait_until(lambda: site.states().get("done", 0) >= 3, what="three ticks")
    rows = [row for row in site.rows() if row.name == "workertasks.every_second"]
    ticks = [row.run_at for row in rows]
    assert len(ticks) == len(set(ticks)) >= 3
    runs = [r for r in site.runs() if r.key == "tick"]
    assert len(runs) == len([row for row in rows if row.state == "done"])


def _state(site: TaskSite, task_id: str) -> str | None:
    record = site.tasks.backend.get(task_id)
    return record.state if record is not None else None


def test_a_worker_carries_on_after_the_database_restarts(
    engine_urls: dict[str, str | None], tmp_path: object
) -> None:
    """PostgreSQL drops every connection (as in a restart); the worker reconnects."""
    from pathlib import Path

    from taskhelpers import make_site

    url = engine_urls["postgresql"]
    if url is None:
        pytest.skip("no postgresql server here (set CI=true to make this an error)")
    with make_site(Path(str(tmp_path)), url) as site:
        (first,) = send(site, (work, ("before",)))
        with workers(site.url, 1, "--concurrency", "2"):
            wait_until(lambda: _state(site, first) == "done", what="the first task")
            with site.db.sync_engine.connect() as connection:
                dropped = connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).all()
            assert dropped  # the worker's connections were among them
            (second,) = send(site, (work, ("after",)))
            wait_until(lambda: _state(site, second) == "done", what="a task after the restart")
        assert [str(r.key) for r in site.runs()] == ["before", "after"]
