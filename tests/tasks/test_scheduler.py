"""Cron parsing, tick ids, and one row per tick however many schedulers fire it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from taskhelpers import TaskSite, wait_until

from kettle.exceptions import ConfigurationError
from kettle.tasks import task
from kettle.tasks.scheduler import Scheduler, next_tick, parse_cron, tick_message


@task(cron="* * * * * *")
def each_second() -> None:
    pass


@task(cron="0 * * * *", queue="periodic")
def hourly(limit: int = 10) -> None:
    pass


def test_next_tick_follows_the_expression() -> None:
    at = dt.datetime(2026, 1, 1, 9, 30, 15, tzinfo=dt.UTC)
    assert next_tick("0 * * * *", at) == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert next_tick("*/5 * * * *", at) == dt.datetime(2026, 1, 1, 9, 35, tzinfo=dt.UTC)
    assert next_tick("* * * * * */10", at) == dt.datetime(2026, 1, 1, 9, 30, 20, tzinfo=dt.UTC)


@pytest.mark.parametrize("expression", ["", "* * *", "61 * * * *", "* * * * * * * *"])
def test_bad_expressions_say_what_to_write(expression: str) -> None:
    with pytest.raises(ConfigurationError, match="Write five fields"):
        parse_cron(expression, "app.job")


def test_a_tick_has_the_same_id_in_every_worker() -> None:
    tick = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    first, second = tick_message(hourly, tick), tick_message(hourly, tick)
    assert first.id == second.id
    assert tick_message(hourly, tick + dt.timedelta(hours=1)).id != first.id
    assert (first.queue, first.eta, first.args, first.kwargs) == ("periodic", tick, [], {})


def test_two_sends_of_a_tick_make_one_task(site: TaskSite) -> None:
    tick = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    site.tasks.backend.send([tick_message(hourly, tick)])
    site.tasks.backend.send([tick_message(hourly, tick)])
    site.tasks.backend.send([tick_message(hourly, tick + dt.timedelta(hours=1))])
    assert [row.run_at for row in site.rows()] == [tick, tick + dt.timedelta(hours=1)]


def test_two_schedulers_fire_each_tick_once(site: TaskSite) -> None:
    schedulers = [Scheduler([each_second, hourly], site.tasks.backend) for _ in range(2)]
    threads = [threading.Thread(target=s.run, daemon=True) for s in schedulers]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(s.fired >= 2 for s in schedulers), what="two ticks each")
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        for thread in threads:
            thread.join()
    ticks = [row.run_at for row in site.rows()]
    assert len(ticks) == len(set(ticks)) >= 2
    assert {row.name for row in site.rows()} == {each_second.name}
