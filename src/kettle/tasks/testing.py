"""Testing code that enqueues tasks: collect them for assertions, or run them at once.

::

    from kettle.tasks.testing import collecting, eager

    with collecting(app) as tasks:
        client.post("/signup", data={...})
    assert [m.name for m in tasks.collected] == ["news.tasks.send_welcome"]
    tasks.run_collected()

    with eager(app):
        client.post("/signup", data={...})     # the mail task has already run

kettle.testing's pytest plugin offers the first as the ``task_queue`` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from kettle.tasks._tasks import Mode, Tasks, current


def tasks_of(app: Any | None) -> Tasks:
    """The ``Tasks`` of ``app`` (or the current one when ``app`` is None)::

    tasks_of(app).mode   # "send"
    """
    found = getattr(app.state, "tasks", None) if app is not None else current()
    if not isinstance(found, Tasks):
        raise LookupError(
            "The app has no Tasks: create one next to it, `tasks = Tasks(app)`, before "
            "testing what it enqueues."
        )
    return found


@contextlib.contextmanager
def _mode(app: Any | None, mode: Mode) -> Iterator[Tasks]:
    tasks = tasks_of(app)
    before = tasks.mode
    # NOTE: fresh lists that stay after the block, for assertions made after it.
    tasks.mode, tasks.collected, tasks.records = mode, [], {}
    tasks.use()
    try:
        yield tasks
    finally:
        tasks.mode = before


def collecting(app: Any | None = None) -> contextlib.AbstractContextManager[Tasks]:
    """Inside the block, enqueued tasks are kept in ``tasks.collected`` (emptied when the
    block starts, kept after it), not sent::

    with collecting(app) as tasks:
        send_welcome.enqueue(42)
    assert tasks.collected[0].args == [42]
    """
    return _mode(app, "collect")


def eager(app: Any | None = None) -> contextlib.AbstractContextManager[Tasks]:
    """Inside the block, enqueued tasks run at once in the caller (retries too, without
    waiting); outcomes are in ``tasks.records`` and on the handles::

    with eager(app):
        assert add.enqueue(1, 2).result == 3
    """
    return _mode(app, "eager")


__all__ = ["collecting", "eager", "tasks_of"]
