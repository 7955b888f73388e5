"""``kettle worker``: the process that runs an app's tasks.

::

    kettle worker app.py --queues default,mail --concurrency 8

It loads the app, finds its ``Tasks``, asks the backend for a worker loop and runs it,
with the scheduler of periodic tasks beside it. SIGTERM (or Ctrl-C) stops claiming, lets
running tasks finish within ``--grace`` seconds and puts the rest back in the queue. In a
terminal a status line shows what runs and what was done.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

import click

from kettle._loading import load_app, parse_target
from kettle.exceptions import ConfigurationError
from kettle.tasks._backend import TasksUnavailable, WorkerLoop
from kettle.tasks._tasks import Tasks
from kettle.tasks.scheduler import Scheduler

log = logging.getLogger("kettle.tasks")


def status_line(loop: Any) -> str:
    """What ``loop`` is doing, in one line (what the terminal shows)::

    status_line(loop)   # "2 running · 1,204 done · 3 failed · 5 retried · 0 reclaimed"
    """
    running = len(getattr(loop, "running", ()))
    counts = getattr(loop, "counts", None)
    if counts is None:
        return f"{running} running"
    return (
        f"{running} running · {counts.done:,} done · {counts.failed:,} failed · "
        f"{counts.retried:,} retried · {counts.reclaimed:,} reclaimed"
    )


def find_tasks(app: Any) -> Tasks:
    """The ``Tasks`` attached to ``app`` (``Tasks(app)``), else a usage error::

    find_tasks(load_app(parse_target("app.py")))
    """
    tasks = getattr(app.state, "tasks", None)
    if not isinstance(tasks, Tasks):
        raise click.UsageError(
            "The app has no tasks battery: create one next to it, `tasks = Tasks(app)` "
            "(from kettle.tasks), and import the modules that define your @task functions."
        )
    return tasks


def run_worker(
    tasks: Tasks,
    *,
    queues: Sequence[str] = ("default",),
    concurrency: int = 4,
    grace: float = 30.0,
    scheduler: bool = True,
    live: bool | None = None,
) -> WorkerLoop:
    """Run a worker for ``tasks`` until SIGTERM or SIGINT; returns the stopped loop::

    run_worker(tasks, queues=["default", "mail"], concurrency=8, grace=30)
    """
    # A worker process serves one app: what its tasks enqueue, from any thread, goes there.
    tasks.use()
    backend = tasks.backend
    registry = tasks.registry()
    backend.check()
    loop = backend.worker(registry, queues=queues, concurrency=concurrency)
    periodic = Scheduler(registry, backend, on_error=_tick_lost) if scheduler else None
    if periodic is not None and periodic.tasks:
        threading.Thread(target=periodic.run, name="kettle-scheduler", daemon=True).start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.warning("%s: finishing running tasks (up to %g s).", signal.Signals(signum).name, grace)
        loop.stop(grace)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    names = ", ".join(queues)
    banner = (
        f"kettle worker: {len(registry)} task(s), queues {names}, concurrency {concurrency}, "
        f"backend {backend.name}" + (f", {len(periodic.tasks)} periodic" if periodic else "")
    )
    click.echo(banner, err=True)
    if live is None:
        live = sys.stderr.isatty()
    try:
        if live:
            _run_live(loop)
        else:
            loop.run()
    finally:
        if periodic is not None:
            periodic.stop()
    click.echo(f"kettle worker stopped: {status_line(loop)}", err=True)
    return loop


def _run_live(loop: WorkerLoop) -> None:
    """``loop.run()`` under a rich status line refreshed twice a second."""
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    done = threading.Event()

    def refresh(live: Live) -> None:
        while not done.wait(0.5):
            live.update(status_line(loop))

    with Live(status_line(loop), console=console, transient=True) as live:
        painter = threading.Thread(target=refresh, args=(live,), daemon=True)
        painter.start()
        try:
            loop.run()
        finally:
            done.set()


def _tick_lost(error: Exception) -> None:
    log.error("A periodic task could not be enqueued (the tick is skipped): %s", error)


@click.command("worker")
@click.argument("target", required=False)
@click.option(
    "--queues",
    "-q",
    default="default",
    show_default=True,
    help="Comma-separated queues to take tasks from.",
)
@click.option(
    "--concurrency", "-c", default=4, show_default=True, help="Tasks run at the same time."
)
@click.option(
    "--grace",
    default=30.0,
    show_default=True,
    help="Seconds running tasks get to finish after SIGTERM; the rest go back to the queue.",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also enqueue periodic (cron) tasks at their ticks.",
)
def worker(
    target: str | None, queues: str, concurrency: int, grace: float, scheduler: bool
) -> None:
    """Run the tasks of the app TARGET (default: app.py here) until stopped."""
    os.environ.setdefault("KETTLE_ENV", "development")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if concurrency < 1:
        raise click.BadParameter(
            f"must be at least 1, got {concurrency}.", param_hint="--concurrency"
        )
    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    if not chosen:
        raise click.BadParameter(
            "name at least one queue, such as 'default'.", param_hint="--queues"
        )
    app = load_app(parse_target(target))
    try:
        run_worker(
            find_tasks(app),
            queues=chosen,
            concurrency=concurrency,
            grace=grace,
            scheduler=scheduler,
        )
    except (TasksUnavailable, ConfigurationError) as error:
        raise click.ClickException(str(error)) from None
    # NOTE: a `def` task still running after the grace period holds a thread that Python
    # cannot stop; its row is back in the queue, so leave without waiting for it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


__all__ = ["find_tasks", "run_worker", "status_line", "worker"]
