"""``kettle tasks``: look at the app's tasks and steer them from the command line.

::

    kettle tasks list --state failed           # newest first: id, task, state, attempts, error
    kettle tasks show 4f1c2a...                # one task, with its last traceback
    kettle tasks retry 4f1c2a... 9b0e11...     # or --failed: every failed task
    kettle tasks cancel 4f1c2a...              # a pending task: a worker will drop it
    kettle tasks purge done                    # delete the records of finished tasks

The app is found as for ``kettle db``: ``--app``, ``KETTLE_APP``, else ``app.py`` here;
its ``Tasks`` object says which backend (``KETTLE_TASKS_URL``) to talk to. Both backends
(the database and Redis) support every command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol, cast

import click
from rich.console import Console
from rich.table import Table

from kettle._loading import load_app, parse_target
from kettle.tasks._backend import Backend, ManagedBackend, TasksUnavailable
from kettle.tasks._message import STATES, State


class _Steerable(Backend, ManagedBackend, Protocol):
    """A backend with the management methods (both shipped backends)."""


_APP_HELP = "The app: a file like hello.py or pkg.module:app (default: app.py here)."
_app_option = click.option("-a", "--app", "target", envvar="KETTLE_APP", help=_APP_HELP)


def _backend(target: str | None) -> _Steerable:
    os.environ.setdefault("KETTLE_ENV", "development")
    resolved = parse_target(target)
    app = load_app(resolved)
    tasks = getattr(app.state, "tasks", None)
    if tasks is None:
        raise click.ClickException(
            f"The app {resolved.import_string} has no Tasks: add `tasks = Tasks(app)` "
            "(from kettle.tasks) where the app is created."
        )
    backend = tasks.backend
    if not isinstance(backend, ManagedBackend):
        raise click.ClickException(
            f"The {backend.name} task backend cannot list or change tasks from here."
        )
    return cast(_Steerable, backend)


def _short(text: str | None, width: int = 60) -> str:
    line = (text or "").strip().splitlines()[-1:] or [""]
    return line[0] if len(line[0]) <= width else line[0][: width - 1] + "…"


@click.group()
def tasks() -> None:
    """List, retry, cancel and purge the app's background tasks."""


@tasks.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only tasks in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@_app_option
def list_command(state: State | None, limit: int, target: str | None) -> None:
    """The newest tasks, newest first."""
    try:
        records = _backend(target).list(state=state, limit=limit)
    except TasksUnavailable as error:
        raise click.ClickException(str(error)) from None
    if not records:
        click.echo(f"No {state or ''} tasks.".replace("  ", " "))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "task", "state", "attempts", "queue", "enqueued", "last error"):
        table.add_column(column, no_wrap=column != "last error")
    for record in records:
        enqueued = record.enqueued_at.strftime("%Y-%m-%d %H:%M:%S") if record.enqueued_at else ""
        table.add_row(
            record.id,
            record.name,
            record.state,
            str(record.attempts),
            record.queue,
            enqueued,
            _short(record.error),
        )
    Console(width=200).print(table)


@tasks.command("show")
@click.argument("task_id")
@_app_option
def show_command(task_id: str, target: str | None) -> None:
    """One task: its state, attempts, result or last error with its traceback."""
    backend = _backend(target)
    record = backend.get(task_id)
    if record is None:
        raise click.ClickException(f"No task {task_id!r} (unknown, or purged or expired).")
    for field in ("id", "name", "state", "attempts", "queue", "enqueued_at", "started_at"):
        click.echo(f"{field}: {getattr(record, field)}")
    click.echo(f"finished_at: {record.finished_at}")
    if record.state == "done":
        click.echo(f"result: {record.result!r}")
    if record.error:
        click.echo(f"error: {record.error}")
    if record.traceback:
        click.echo(record.traceback.rstrip())


@tasks.command("retry")
@click.argument("task_ids", nargs=-1, metavar="[ID]...")
@click.option("--failed", "all_failed", is_flag=True, help="Retry every failed task.")
@_app_option
def retry_command(task_ids: tuple[str, ...], all_failed: bool, target: str | None) -> None:
    """Put failed or cancelled tasks back in their queue (their attempts start over)."""
    backend = _backend(target)
    ids = list(task_ids)
    if all_failed:
        ids += [record.id for record in backend.list(state="failed", limit=1_000_000)]
    if not ids:
        raise click.UsageError("Name the tasks to retry (their ids), or pass --failed.")
    _each(ids, backend.retry, "queued again", "is not failed or cancelled")


@tasks.command("cancel")
@click.argument("task_ids", nargs=-1, required=True, metavar="ID...")
@_app_option
def cancel_command(task_ids: tuple[str, ...], target: str | None) -> None:
    """Cancel pending tasks: no worker will run them."""
    _each(list(task_ids), _backend(target).cancel, "cancelled", "is not pending")


def _each(ids: list[str], change: Callable[[str], bool], done: str, refused: str) -> None:
    failures = 0
    for task_id in ids:
        if change(task_id):
            click.echo(f"{task_id}: {done}")
        else:
            failures += 1
            click.echo(f"{task_id}: unchanged: no such task, or it {refused}", err=True)
    if failures:
        raise SystemExit(1)


@tasks.command("purge")
@click.argument("state", type=click.Choice(STATES))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_app_option
def purge_command(state: State, yes: bool, target: str | None) -> None:
    """Delete the records of every task in STATE (e.g. done)."""
    backend = _backend(target)
    if state in ("pending", "running") and not yes:
        click.confirm(
            f"Purging {state} tasks loses work that has not finished. Continue?", abort=True
        )
    count = backend.purge(state)
    click.echo(f"Deleted {count} {state} task{'' if count == 1 else 's'}.")


__all__ = ["tasks"]
