"""The database backend's claims on SQLite, PostgreSQL and MariaDB: order, exclusivity
under concurrent workers, leases and their expiry, and the management operations."""

from __future__ import annotations

import datetime as dt
import threading

from taskhelpers import TaskSite

from kettle.tasks import CallOptions, Outcome, _rows, task
from kettle.tasks._message import TaskMessage, utcnow


@task
def job(n: int) -> int:
    return n


def claim(
    site: TaskSite,
    limit: int = 10,
    worker: str = "w1",
    lease: float = 30.0,
    queues: tuple[str, ...] = ("default",),
) -> list[TaskMessage]:
    with site.db.sync_engine.begin() as connection:
        return _rows.claim(connection, queues, limit, worker=worker, lease=lease)


def test_claims_take_due_tasks_by_priority_then_age(site: TaskSite) -> None:
    send = site.tasks.backend.send
    low, high = job.message((1,), {}, CallOptions()), job.message((2,), {}, CallOptions(priority=5))
    later = job.message((3,), {}, CallOptions(delay=3600))
    elsewhere = job.message((4,), {}, CallOptions(queue="other"))
    oldest = job.message((5,), {}, CallOptions())
    oldest.enqueued_at -= dt.timedelta(minutes=1)
    send([low, high, later, elsewhere, oldest])
    taken = claim(site)
    assert [m.args for m in taken] == [[2], [5], [1]]
    assert all(m.attempt == 0 for m in taken)
    assert claim(site) == []
    assert [m.args for m in claim(site, queues=("other", "x"))] == [[4]]
    row = next(r for r in site.rows() if r.task_id == high.id)
    assert (row.state, row.attempts, row.locked_by) == ("running", 1, "w1")


def test_concurrent_claims_never_take_a_task_twice(site: TaskSite) -> None:
    site.tasks.backend.send([job.message((n,), {}, CallOptions()) for n in range(80)])
    taken: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while batch := claim(site, limit=3, worker=name):
            with lock:
                taken.extend(m.args[0] for m in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(80))


def test_an_expired_lease_puts_the_task_back_and_the_late_worker_loses_it(site: TaskSite) -> None:
    (task_id,) = site.tasks.backend.send([job.message((1,), {}, CallOptions())])
    (first,) = claim(site, worker="dead", lease=-1.0)
    with site.db.sync_engine.begin() as connection:
        assert _rows.reclaim(connection) == 1
    (second,) = claim(site, worker="alive")
    assert (second.id, second.attempt) == (task_id, 1)
    with site.db.sync_engine.begin() as connection:
        done = Outcome(state="done", result=1)
        assert _rows.finish_many(connection, [(first, done)], worker="dead") == 0
        assert _rows.finish_many(connection, [(second, done)], worker="alive") == 1
    record = site.tasks.backend.get(task_id)
    assert record is not None
    assert (record.state, record.result, record.attempts) == ("done", 1, 2)


def test_renewed_leases_are_not_reclaimed(site: TaskSite) -> None:
    site.tasks.backend.send([job.message((1,), {}, CallOptions())])
    (message,) = claim(site, worker="w", lease=-1.0)
    with site.db.sync_engine.begin() as connection:
        _rows.renew(connection, [message.id], worker="w", lease=30.0)
        assert _rows.reclaim(connection) == 0


def test_a_retry_waits_for_its_time_and_release_gives_the_attempt_back(site: TaskSite) -> None:
    site.tasks.backend.send(
        [job.message((1,), {}, CallOptions()), job.message((2,), {}, CallOptions())]
    )
    first, second = claim(site)
    later = Outcome(state="retry", error="E: x", retry_at=utcnow() + dt.timedelta(hours=1))
    with site.db.sync_engine.begin() as connection:
        assert _rows.finish_many(connection, [(first, later)], worker="w1") == 1
        _rows.release(connection, [second.id], worker="w1")
    (again,) = claim(site)
    assert (again.id, again.attempt) == (second.id, 0)
    row = next(r for r in site.rows() if r.task_id == first.id)
    assert (row.state, row.error) == ("pending", "E: x")


def test_a_task_that_keeps_killing_its_worker_ends_failed(site: TaskSite) -> None:
    (task_id,) = site.tasks.backend.send([job.message((1,), {}, CallOptions())])
    for _ in range(_rows.LOST_RUNS + 1):
        claim(site, lease=-1.0)
        with site.db.sync_engine.begin() as connection:
            _rows.reclaim(connection)
    record = site.tasks.backend.get(task_id)
    assert record is not None
    assert record.state == "failed"
    assert "its worker stopped" in str(record.error)


def test_list_retry_cancel_and_purge(site: TaskSite) -> None:
    backend = site.tasks.backend
    ids = backend.send([job.message((n,), {}, CallOptions()) for n in range(3)])
    assert ids is not None
    first, second, third = ids
    assert backend.cancel(first)  # type: ignore[attr-defined]
    assert not backend.cancel(first)  # type: ignore[attr-defined]
    assert [r.id for r in backend.list(state="cancelled")] == [first]  # type: ignore[attr-defined]
    assert [r.id for r in backend.list(limit=2)] == [third, second]  # type: ignore[attr-defined]
    assert backend.retry(first)  # type: ignore[attr-defined]
    assert not backend.retry(second)  # type: ignore[attr-defined]  (pending: nothing to retry)
    assert len(claim(site)) == 3
    assert backend.purge("running") == 3  # type: ignore[attr-defined]
    assert site.rows() == []
