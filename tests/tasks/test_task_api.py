"""``@task``, argument checks at enqueue, options, the registry's outcomes and the testing
modes (eager, collect) — nothing here needs a worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import msgspec
import pytest
from taskhelpers import TaskSite

from kettle.exceptions import ConfigurationError
from kettle.tasks import CallOptions, Registry, TaskArgumentError, TaskMessage, task
from kettle.tasks.testing import collecting, eager


class Point(msgspec.Struct):
    x: int
    y: int


@task
def add(a: int, b: int = 2) -> int:
    return a + b


@task(queue="math", priority=7, retries=2, backoff=0.5, timeout=9, unique=True)
async def norm(p: Point, *more: Point, scale: float = 1.0, **tags: str) -> dict[str, object]:
    return {"n": (p.x**2 + p.y**2) ** 0.5 * scale, "more": len(more), "tags": tags}


@task(name="custom.when")
def when(at: dt.datetime) -> str:
    return at.isoformat()


@task(retries=1, backoff=0.0)
def breaks(message: str) -> None:
    raise ValueError(message)


@task
def untyped(value):  # type: ignore[no-untyped-def]
    return value


@task(timeout=0.2)
def sleeps(seconds: float) -> None:
    time.sleep(seconds)


def test_a_task_is_still_a_plain_function() -> None:
    assert add(1) == 3
    assert add.name == "test_task_api.add"
    assert when.name == "custom.when"
    assert asyncio.run(norm(Point(3, 4)))["n"] == 5.0


def test_bad_arguments_fail_in_the_caller_naming_task_and_parameter(sqlite_site: TaskSite) -> None:
    with pytest.raises(
        TaskArgumentError,
        match=r"task 'test_task_api.add', parameter 'a': Expected `int`, got `str`",
    ):
        add.enqueue("one")
    with pytest.raises(TypeError, match=r"task 'test_task_api\.add': too many positional"):
        add.enqueue(1, 2, 3)
    with pytest.raises(ValueError, match="missing a required argument: 'a'"):
        add.enqueue()
    with pytest.raises(TaskArgumentError, match="parameter 'more'"):
        norm.enqueue(Point(1, 2), {"x": "no"})
    with pytest.raises(TaskArgumentError, match="cannot be sent as JSON"):
        untyped.enqueue(object())
    with pytest.raises(TaskArgumentError, match="has no time zone"):
        add.options(run_at=dt.datetime(2030, 1, 1)).enqueue(1)
    assert sqlite_site.rows() == []


def test_messages_carry_the_options_of_the_task_and_of_the_call() -> None:
    message = norm.message((Point(3, 4),), {"scale": 2, "kind": "a"}, CallOptions())
    assert (message.queue, message.priority, message.max_retries, message.timeout) == (
        "math",
        7,
        2,
        9,
    )
    assert message.args == [{"x": 3, "y": 4}]
    assert message.kwargs == {"scale": 2, "kind": "a"}
    assert message.unique_key is not None
    assert message.unique_key.startswith("test_task_api.norm:")
    same = norm.message((Point(3, 4),), {"scale": 2, "kind": "a"}, CallOptions())
    assert same.unique_key == message.unique_key != same.id
    options = CallOptions(queue="fast", priority=-1, delay=60, unique_key="k")
    before = dt.datetime.now(dt.UTC)
    later = add.message((1,), {}, options)
    assert (later.queue, later.priority, later.unique_key) == ("fast", -1, "k")
    assert later.eta is not None
    assert later.eta - before >= dt.timedelta(seconds=60)
    chained = add.options(queue="a").options(delay=dt.timedelta(minutes=1))
    assert chained.call_options == CallOptions(queue="a", delay=dt.timedelta(minutes=1))


def test_the_registry_decodes_arguments_back_to_their_types() -> None:
    registry = Registry([add, norm, when])
    stamp = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    outcome = registry.run(when.message((stamp,), {}, CallOptions()))
    assert (outcome.state, outcome.result) == ("done", stamp.isoformat())
    message = norm.message((Point(3, 4), Point(0, 1)), {"scale": 2, "kind": "a"}, CallOptions())
    outcome = registry.run(message)
    assert outcome.result == {"n": 10.0, "more": 1, "tags": {"kind": "a"}}


def test_unknown_names_and_undecodable_arguments_become_failed_outcomes() -> None:
    registry = Registry([add])
    outcome = registry.run(TaskMessage.new("gone.task", [], {}))
    assert outcome.state == "failed"
    assert outcome.error == "unknown task 'gone.task' (deployed code does not define it)"
    outcome = registry.run(TaskMessage.new(add.name, ["x"], {}))
    assert outcome.state == "failed"
    assert outcome.error is not None
    assert "no longer decode: parameter 'a': Expected `int`, got `str`" in outcome.error


def test_a_failure_is_retried_with_backoff_then_failed_with_its_traceback() -> None:
    registry = Registry([breaks])
    message = breaks.message(("bad",), {}, CallOptions())
    first = registry.run(message)
    assert first.state == "retry"
    assert first.error == "ValueError: bad"
    assert first.retry_at is not None
    last = registry.run(msgspec.structs.replace(message, attempt=1))
    assert last.state == "failed"
    assert last.error == "ValueError: bad"
    assert last.traceback is not None
    assert "raise ValueError(message)" in last.traceback


def test_backoff_grows_exponentially_with_jitter() -> None:
    from kettle.tasks._registry import backoff

    slow = task(name="backoff.probe", retries=10, backoff=2.0)(lambda: None)
    waits = [
        backoff(slow, TaskMessage.new(slow.name, [], {}, attempt=n)).total_seconds()
        for n in range(5)
    ]
    for n, wait in enumerate(waits):
        assert 2.0 * 2**n * 0.5 <= wait <= 2.0 * 2**n * 1.5


def test_timeouts_fail_def_and_async_tasks() -> None:
    registry = Registry([sleeps])
    outcome = registry.run(sleeps.message((5.0,), {}, CallOptions()))
    assert outcome.state == "failed"
    assert outcome.error == "TimeoutError: the task ran longer than its timeout of 0.2 s"

    async def main() -> str:
        got = await Registry([sleeps]).arun(sleeps.message((0.5,), {}, CallOptions()))
        return str(got.error)

    assert "timeout of 0.2 s" in asyncio.run(main())


def test_a_result_that_is_not_json_fails_clearly() -> None:
    odd = task(name="returns.object")(lambda: object())
    outcome = Registry([odd]).run(odd.message((), {}, CallOptions()))
    assert outcome.state == "failed"
    assert "returned a value that cannot be stored as JSON" in str(outcome.error)


def test_eager_mode_runs_at_once_with_retries(sqlite_site: TaskSite) -> None:
    with eager(sqlite_site.app) as tasks:
        assert add.enqueue(1, 5).result == 6
        handle = breaks.enqueue("again")
        assert (handle.state, handle.error) == ("failed", "ValueError: again")
        assert tasks.records[handle.id].attempts == 2
    assert sqlite_site.rows() == []


def test_collect_mode_keeps_messages_to_inspect_and_run(sqlite_site: TaskSite) -> None:
    with collecting(sqlite_site.app) as tasks:
        handle = add.enqueue(2, b=3)
        assert handle.state == "pending"
        assert [(m.name, m.args, m.kwargs) for m in tasks.collected] == [
            ("test_task_api.add", [2, 3], {})
        ]
        assert [o.result for o in tasks.run_collected()] == [5]
        assert tasks.collected == []
    assert sqlite_site.tasks.mode == "send"
    assert sqlite_site.rows() == []


def test_bad_declarations_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="parameters without defaults \\(n\\)"):
        task(cron="* * * * *")(lambda n: None)
    with pytest.raises(ConfigurationError, match="cron expression 'every day'"):
        task(cron="every day")(lambda: None)
    with pytest.raises(ConfigurationError, match="timeout > 0"):
        task(timeout=0)(lambda: None)
    with pytest.raises(ConfigurationError, match=r"Two tasks are named 'test_task_api\.add'"):
        task(name="test_task_api.add")(lambda: None)
    first = task(name="twice")(lambda: 1)
    second = task(name="twice")(lambda: 2)
    with pytest.raises(ConfigurationError, match="Two tasks are named 'twice'"):
        Registry([first, second])


@pytest.fixture
def app(sqlite_site: TaskSite) -> object:
    return sqlite_site.app


def test_the_task_queue_fixture_collects_for_the_app(
    task_queue: object, sqlite_site: TaskSite
) -> None:
    add.enqueue(4)
    assert task_queue is sqlite_site.tasks
    assert [m.args for m in sqlite_site.tasks.collected] == [[4]]
    assert sqlite_site.rows() == []


@task
async def double(n: int) -> int:
    return n * 2


def test_eager_mode_in_async_code_runs_on_the_running_loop(sqlite_site: TaskSite) -> None:
    async def main() -> list[object]:
        first = await double.aenqueue(4)
        second = await add.aenqueue(1, 1)
        return [first.result, second.result]

    with eager(sqlite_site.app):
        assert asyncio.run(main()) == [8, 2]
