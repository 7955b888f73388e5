"""Progress bars for long migrations: one bar per run of revisions, and one per bulk step.

``kettle db migrate`` shows a bar that advances per revision; data helpers add their own
bar below it while they work through rows::

    with progress.run("Migrating", total=3) as advance:
        ...                                  # Alembic applies a revision
        advance("1a2b3c4d5e6f add article")

    with progress.task("Backfilling slugs", total=10_000) as advance:
        advance(500)

The bar of the running migration is kept in a context variable (the one piece of ambient
state here: a data step deep inside a revision adds its task to it instead of starting a
second live display, which rich forbids).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

_current: ContextVar[Progress | None] = ContextVar("kettle_migration_progress", default=None)


def current() -> Progress | None:
    """The progress display of the migration running in this context, if any."""
    return _current.get()


def _make(console: Console | None) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        # The bar goes when done; the lines printed per revision stay.
        transient=True,
    )


@contextlib.contextmanager
def run(
    description: str, total: int | None, console: Console | None = None
) -> Iterator[Callable[[str], None]]:
    """A bar for a run of revisions; call the yielded function after each revision."""
    display = _make(console)
    task = display.add_task(description, total=total)
    token = _current.set(display)
    display.start()
    try:

        def advance(label: str) -> None:
            display.console.print(f"  [green]✓[/] {label}", highlight=False)
            display.advance(task)

        yield advance
    finally:
        display.stop()
        _current.reset(token)


@contextlib.contextmanager
def task(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar for a bulk step (rows); call the yielded function with each batch's size.

    Inside a migration the bar joins the migration's display; elsewhere it stands alone.
    """
    display = _current.get()
    owned = display is None
    shown = _make(None) if display is None else display
    if owned:
        shown.start()
    progress_task = shown.add_task(description, total=total)
    try:
        yield lambda count: shown.advance(progress_task, count)
    finally:
        if owned:
            shown.stop()


__all__ = ["current", "run", "task"]
