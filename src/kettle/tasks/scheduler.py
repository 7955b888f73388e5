"""Periodic tasks: ``@task(cron="...")`` enqueued at each tick by ``kettle worker``.

Every worker runs a scheduler; they agree without talking to each other. The message of
a tick has an id made from the task's name and the tick's time (a uuid5), and backends
store a message whose id they already have only once (the database backend's unique
``task_id``; a ``SET NX`` on a broker), so exactly one task runs per tick however many
workers fire it::

    @task(cron="*/5 * * * *")          # every five minutes
    def recompute_rankings() -> None: ...

    @task(cron="* * * * * */10")       # a sixth field: every ten seconds
    def heartbeat() -> None: ...

A scheduler fires the ticks that come after it starts; ticks missed while no worker ran
are not made up.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from kettle.exceptions import ConfigurationError
from kettle.tasks._message import TaskMessage, utcnow

if TYPE_CHECKING:
    from kettle.tasks._backend import Backend
    from kettle.tasks._task import Task

#: The namespace of the uuid5 ids of ticks.
TICKS = uuid.UUID("5b0f1c1e-7d3a-4c55-9a57-6b1c2f0e8a11")


def parse_cron(expression: str, name: str = "") -> Any:
    """Check a cron expression (five fields, or six with seconds last); returns a croniter::

    parse_cron("0 * * * *")           # every hour on the hour
    parse_cron("* * * * * */10")      # every ten seconds
    """
    try:
        from croniter import croniter
    except ImportError:
        raise ConfigurationError(
            "Periodic tasks (cron=...) need croniter: pip install 'kettle[tasks]'."
        ) from None
    fields = expression.split()
    try:
        if len(fields) not in (5, 6):
            raise ValueError(f"it has {len(fields)} fields, not 5 (or 6 with seconds)")
        return croniter(expression, utcnow())
    except (ValueError, KeyError) as error:
        where = f" of task {name!r}" if name else ""
        raise ConfigurationError(
            f"The cron expression {expression!r}{where} is not valid: {error}. Write five "
            "fields, minute hour day month weekday, such as '*/5 * * * *' (a sixth, "
            "seconds, may follow)."
        ) from None


def next_tick(expression: str, after: dt.datetime) -> dt.datetime:
    """The first tick of ``expression`` strictly after ``after`` (UTC)::

    next_tick("0 * * * *", datetime(2026, 1, 1, 9, 30, tzinfo=UTC))   # 10:00
    """
    from croniter import croniter

    value = croniter(expression, after).get_next(dt.datetime)
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def tick_message(task: Task[Any, Any], tick: dt.datetime) -> TaskMessage:
    """The message of ``task`` for ``tick``: the same id in every worker::

    tick_message(recompute_rankings, tick).id == tick_message(recompute_rankings, tick).id
    """
    message = task.message((), {}, _no_options())
    message.id = uuid.uuid5(TICKS, f"{task.name}@{tick.isoformat()}").hex
    message.eta = tick
    return message


def _no_options() -> Any:
    from kettle.tasks._task import CallOptions

    return CallOptions()


class Scheduler:
    """Enqueues the periodic tasks of ``tasks`` at their ticks until ``stop``::

    scheduler = Scheduler(registry, backend)
    threading.Thread(target=scheduler.run, daemon=True).start()
    scheduler.stop()
    """

    def __init__(
        self,
        tasks: Iterable[Task[Any, Any]],
        backend: Backend,
        *,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.tasks = [task for task in tasks if task.cron]
        self.backend = backend
        self.on_error = on_error
        #: How many ticks this scheduler has sent (duplicates of other workers' included).
        self.fired = 0
        self._stop = threading.Event()

    def run(self) -> None:
        """Send each periodic task at each of its ticks; blocks until ``stop``."""
        if not self.tasks:
            return
        now = utcnow()
        upcoming = {task.name: next_tick(str(task.cron), now) for task in self.tasks}
        by_name = {task.name: task for task in self.tasks}
        while not self._stop.is_set():
            name, tick = min(upcoming.items(), key=lambda item: item[1])
            wait = (tick - utcnow()).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            task = by_name[name]
            try:
                self.backend.send([tick_message(task, tick)])
                self.fired += 1
            except Exception as error:  # the store is down: this tick is lost, go on
                if self.on_error is not None:
                    self.on_error(error)
            upcoming[name] = next_tick(str(task.cron), tick)

    def stop(self) -> None:
        """Make ``run`` return (thread-safe)."""
        self._stop.set()


__all__ = ["TICKS", "Scheduler", "next_tick", "parse_cron", "tick_message"]
