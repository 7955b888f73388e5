"""The distributed backend (Dramatiq on Redis) against the real Redis of this machine.

Each test uses a key namespace of its own and removes it afterwards. A worker runs in a
thread of the test process here; the process tests (kill, SIGTERM, two workers) are in
test_dramatiq_workers.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
import redis

from kettle.exceptions import ConfigurationError
from kettle.tasks import Tasks
from kettle.tasks._backend import ManagedBackend, TasksUnavailable
from kettle.tasks._message import TaskMessage, encode, utcnow
from kettle.tasks._registry import Registry
from kettle.tasks._task import task
from kettle.tasks.dramatiq import DramatiqBackend, DramatiqLoop
from tcpproxy import Proxy

REDIS = "redis://127.0.0.1:6379/0"
RAN: list[Any] = []


@task(name="h8.add")
def add(a: int, b: int) -> int:
    RAN.append((a, b))
    return a + b


@task(name="h8.double")
async def double(a: int) -> int:
    return a * 2


@task(name="h8.flaky", retries=2, backoff=0.01)
def flaky() -> None:
    raise ValueError("always broken")


REGISTRY = Registry([add, double, flaky])


def _drop(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}:*", count=1000):
        client.delete(key)


@pytest.fixture
def namespace() -> Iterator[str]:
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.RedisError as error:  # pragma: no cover - the machine runs Redis
        pytest.fail(f"these tests need Redis at {REDIS}: {error}")
    name = f"kt{uuid.uuid4().hex[:10]}"
    yield name
    _drop(name)


@pytest.fixture
def backend(namespace: str) -> DramatiqBackend:
    return DramatiqBackend(f"{REDIS}?namespace={namespace}&visibility_timeout=2")


@pytest.fixture
def running(backend: DramatiqBackend) -> Iterator[Callable[..., DramatiqLoop]]:
    """Start a worker loop in a thread (stopped at the end of the test)."""
    started: list[tuple[DramatiqLoop, threading.Thread]] = []

    def start(on: DramatiqBackend = backend, queues: tuple[str, ...] = ("default",)) -> Any:
        loop = on.worker(REGISTRY, queues=queues, concurrency=2)
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        started.append((loop, thread))
        return loop

    yield start
    for loop, thread in started:
        loop.stop(grace=5)
        thread.join(10)


def wait_for(backend: DramatiqBackend, task_id: str, *states: str, within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        record = backend.get(task_id)
        if record is not None and record.state in states:
            return record
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} never reached {states}: {backend.get(task_id)}")


def message(name: str, *args: Any, **options: Any) -> TaskMessage:
    return TaskMessage.new(name, list(args), {}, **options)


def test_send_records_pending_and_a_worker_runs_it(backend: DramatiqBackend, running) -> None:
    sent = message("h8.add", 2, 3)
    assert backend.send([sent]) == [sent.id]
    record = backend.get(sent.id)
    assert (record.name, record.state, record.attempts) == ("h8.add", "pending", 0)
    running()
    record = wait_for(backend, sent.id, "done")
    assert (record.result, record.attempts, record.error) == (5, 1, None)
    assert record.started_at <= record.finished_at
    # Acknowledged with its outcome: Dramatiq keeps neither the message nor its id.
    queue = f"{backend.namespace}:dramatiq:default"
    assert backend.client.hlen(queue + ".msgs") == 0
    acks = list(backend.client.scan_iter(f"{backend.namespace}:dramatiq:__acks__.*"))
    assert [backend.client.scard(key) for key in acks] == [0] * len(acks)


def test_async_tasks_run_on_the_workers_loop(backend: DramatiqBackend, running) -> None:
    sent = [message("h8.double", n) for n in range(5)]
    backend.send(sent)
    running()
    assert [wait_for(backend, m.id, "done").result for m in sent] == [0, 2, 4, 6, 8]


def test_a_failing_task_is_retried_then_failed_with_its_traceback(
    backend: DramatiqBackend, running
) -> None:
    sent = message("h8.flaky", max_retries=2)
    backend.send([sent])
    running()
    record = wait_for(backend, sent.id, "failed")
    assert record.attempts == 3
    assert record.error == "ValueError: always broken"
    assert "raise ValueError" in record.traceback


def test_unknown_task_and_bad_arguments_fail_clearly_and_the_worker_goes_on(
    backend: DramatiqBackend, running
) -> None:
    unknown = message("h8.removed_in_this_deploy")
    undecodable = message("h8.add", "two", 3)
    fine = message("h8.add", 1, 1)
    backend.send([unknown, undecodable, fine])
    running()
    assert wait_for(backend, unknown.id, "failed").error == (
        "unknown task 'h8.removed_in_this_deploy' (deployed code does not define it)"
    )
    assert "no longer decode" in wait_for(backend, undecodable.id, "failed").error
    assert wait_for(backend, fine.id, "done").result == 2


def test_a_delayed_task_waits_for_its_eta(backend: DramatiqBackend, running) -> None:
    later = message("h8.add", 1, 2, eta=utcnow() + dt.timedelta(seconds=1.5))
    now = message("h8.add", 3, 4)
    backend.send([later, now])
    running()
    wait_for(backend, now.id, "done")
    assert backend.get(later.id).state == "pending"
    record = wait_for(backend, later.id, "done")
    assert record.started_at >= later.eta


def test_a_unique_key_collapses_enqueues_while_the_first_is_pending(
    backend: DramatiqBackend, running
) -> None:
    first = message("h8.add", 1, 2, unique_key="recount")
    second = message("h8.add", 1, 2, unique_key="recount")
    assert backend.send([first]) == [first.id]
    assert backend.send([second]) == [first.id]
    assert backend.get(second.id).id == first.id  # the handle of the collapsed enqueue
    running()
    wait_for(backend, first.id, "done")
    third = message("h8.add", 1, 2, unique_key="recount")  # the key is free again
    assert backend.send([third]) == [third.id]
    wait_for(backend, third.id, "done")
    assert len(backend.list(state="done")) == 2


def test_cancel_retry_purge_and_list(backend: DramatiqBackend, running) -> None:
    assert isinstance(backend, ManagedBackend)
    cancelled, failing = message("h8.add", 7, 7), message("h8.flaky")
    backend.send([cancelled, failing])
    assert backend.cancel(cancelled.id) is True
    assert backend.cancel(cancelled.id) is False  # no longer pending
    running()
    wait_for(backend, failing.id, "failed")
    time.sleep(0.3)
    assert backend.get(cancelled.id).state == "cancelled"  # the worker dropped its message
    assert (7, 7) not in RAN
    assert [r.id for r in backend.list(state="failed")] == [failing.id]
    assert {r.id for r in backend.list()} == {cancelled.id, failing.id}

    assert backend.retry(cancelled.id) is True
    assert wait_for(backend, cancelled.id, "done").result == 14
    assert backend.retry(failing.id) is True
    assert backend.retry(cancelled.id) is False  # done: nothing to retry
    record = wait_for(backend, failing.id, "failed")
    assert record.attempts == 1  # attempts start over
    assert backend.purge("failed") == 1
    assert backend.get(failing.id) is None
    assert backend.list(state="failed") == []


def test_a_periodic_tick_sent_by_every_worker_runs_once(backend: DramatiqBackend, running) -> None:
    tick = utcnow() + dt.timedelta(seconds=0.5)
    twin = message("h8.add", 5, 5, eta=tick)
    senders = [DramatiqBackend(f"{REDIS}?namespace={backend.namespace}") for _ in range(3)]
    for sender in [backend, *senders]:  # each worker's scheduler sends the same tick
        sender.send([msgspec.structs.replace(twin)])
    running()
    assert wait_for(backend, twin.id, "done").attempts == 1
    time.sleep(1)
    assert RAN.count((5, 5)) == 1
    assert len(backend.list(state="done")) == 1


def test_a_message_that_is_not_a_kettle_task_is_dropped(backend: DramatiqBackend, running) -> None:
    loop = running()
    loop._execute("not json")  # logged and acknowledged: no crash loop
    good = message("h8.add", 0, 0)
    backend.send([good])
    wait_for(backend, good.id, "done")


def test_the_url_is_checked(namespace: str) -> None:
    secret = DramatiqBackend("redis://:hunter2@127.0.0.1:1/0?namespace=x")
    with pytest.raises(TasksUnavailable) as raised:
        secret.check()
    assert "hunter2" not in str(raised.value)
    assert "redis://:***@127.0.0.1:1/0" in str(raised.value)
    with pytest.raises(ValueError, match="visibility_timeout, keep and check_every must be"):
        DramatiqBackend(f"{REDIS}?visibility_timeout=soon")
    with pytest.raises(ValueError, match=r"numbers of seconds, e\.g\. .*check_every=1"):
        DramatiqBackend(f"{REDIS}?check_every=often")
    assert DramatiqBackend(f"{REDIS}?check_every=0.25").check_every == 0.25
    with pytest.raises(ConfigurationError, match=r"runs on Redis .*redis://host:6379/0"):
        _ = Tasks(url="amqp://guest:guest@127.0.0.1:5672//").backend
    chosen = Tasks(url=f"{REDIS}?namespace={namespace}", visibility_timeout=7).backend
    assert (chosen.name, chosen.visibility_timeout) == ("redis", 7)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy("127.0.0.1", 6379)
    running.start()
    yield running
    running.close()


def test_redis_down_at_enqueue_raises_and_writes_nothing(namespace: str, proxy: Proxy) -> None:
    behind = DramatiqBackend(f"redis://127.0.0.1:{proxy.port}/0?namespace={namespace}")
    behind.check()
    proxy.stop()
    sent = message("h8.add", 1, 2)
    with pytest.raises(TasksUnavailable, match=r"cannot be reached .*Start Redis"):
        behind.send([sent])
    with pytest.raises(TasksUnavailable):
        behind.check()
    proxy.start()
    assert behind.get(sent.id) is None
    assert list(redis.Redis.from_url(REDIS).scan_iter(f"{namespace}:*")) == []
    assert behind.send([sent]) == [sent.id]  # and it works again without a restart


def test_the_worker_reconnects_after_redis_comes_back(namespace: str, proxy: Proxy, running):
    behind = DramatiqBackend(
        f"redis://127.0.0.1:{proxy.port}/0?namespace={namespace}&visibility_timeout=2"
    )
    direct = DramatiqBackend(f"{REDIS}?namespace={namespace}")
    before = message("h8.add", 10, 1)
    direct.send([before])
    running(behind)
    wait_for(direct, before.id, "done")
    proxy.stop()  # the worker's connections are cut; it keeps trying
    during = message("h8.add", 10, 2)
    direct.send([during])
    time.sleep(1.5)
    assert direct.get(during.id).state == "pending"
    proxy.start()
    assert wait_for(direct, during.id, "done", within=30).result == 12
    after = message("h8.add", 10, 3)
    direct.send([after])
    assert wait_for(direct, after.id, "done").result == 13


def test_the_payload_is_the_kettle_message(backend: DramatiqBackend) -> None:
    sent = message("h8.add", 1, 2)
    backend.send([sent])
    queue = f"{backend.namespace}:dramatiq:default"
    (redis_id,) = backend.client.lrange(queue, 0, -1)
    carried = backend.client.hget(queue + ".msgs", redis_id)
    assert encode(sent).decode() in carried.decode().replace('\\"', '"')


def test_a_send_after_redis_lost_its_scripts_loads_them_again(backend: DramatiqBackend, running):
    # A dispatch script Redis has never seen (as after a restart): the first write fails
    # with NOSCRIPT, the backend loads it and writes again; nothing is doubled.
    fresh = backend.broker.scripts["dispatch"].script + f"\n-- {uuid.uuid4().hex}".encode()
    backend.broker.scripts["dispatch"] = backend.client.register_script(fresh)
    backend._loaded = True
    sent = message("h8.add", 20, 22)
    assert backend.send([sent]) == [sent.id]
    running()
    assert wait_for(backend, sent.id, "done").result == 42
    time.sleep(0.3)
    assert RAN.count((20, 22)) == 1
    assert backend.client.llen(f"{backend.namespace}:dramatiq:default") == 0
    assert len(backend.list()) == 1
