"""``TaskAdmin``: the database backend's tasks in kettle.admin, to watch, retry and cancel.

A site that keeps its tasks in its database (the default ``KETTLE_TASKS_URL``) registers
the task table with its admin::

    from kettle.tasks.admin import register_tasks

    register_tasks(admin)          # admin.register(TaskRow, TaskAdmin)

The list shows each task's name, state, attempts, queue, times and last error, filters by
state and enqueue time and searches names, ids and errors; a task's page shows everything,
read-only, with the last error's traceback. Two actions steer them: **retry** (a failed or
cancelled task goes back to its queue, its attempts starting over) and **cancel** (a
pending task will not run). Tasks are made by ``enqueue``, never in the admin. On the
Redis backend the same information is in ``kettle tasks list/show``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.admin.actions import action
from kettle.admin.options import ModelAdmin
from kettle.db import QuerySet
from kettle.tasks.models import TaskRow

if TYPE_CHECKING:
    from kettle.admin.site import AdminSite
    from kettle.requests import Request

#: Every column, in the order a task's page shows them.
_ALL = (
    "task_id",
    "name",
    "state",
    "attempts",
    "max_retries",
    "queue",
    "priority",
    "timeout",
    "unique_key",
    "run_at",
    "enqueued_at",
    "started_at",
    "finished_at",
    "locked_by",
    "locked_until",
    "payload",
    "result",
    "error",
    "traceback",
)


def _steer(request: Any, queryset: QuerySet[Any], change: str, done: str) -> str:
    tasks = getattr(request.app.state, "tasks", None)
    if tasks is None:
        return "This app has no Tasks object (kettle.tasks), so its tasks cannot be changed."
    method = getattr(tasks.backend, change)
    ids = list(queryset.values_list("task_id", flat=True))
    count = sum(1 for task_id in ids if method(task_id))
    skipped = len(ids) - count
    note = f" ({skipped} skipped: not in a state that allows it)" if skipped else ""
    return f"{count} task(s) {done}{note}."


@action(description="Retry selected tasks", name="retry_tasks")
def retry_tasks(admin: Any, request: Any, queryset: QuerySet[Any]) -> str:
    """Put the chosen failed or cancelled tasks back in their queue, their attempts
    starting over (others are skipped), through the backend's ``retry``::

    TaskAdmin.actions   # (retry_tasks, cancel_tasks)
    """
    return _steer(request, queryset, "retry", "queued again")


@action(description="Cancel selected tasks", name="cancel_tasks")
def cancel_tasks(admin: Any, request: Any, queryset: QuerySet[Any]) -> str:
    """Cancel the chosen pending tasks: no worker will run them (running ones finish)::

    TaskAdmin.actions   # (retry_tasks, cancel_tasks)
    """
    return _steer(request, queryset, "cancel", "cancelled")


class TaskAdmin(ModelAdmin):
    """The admin of ``TaskRow`` (see the module docstring)::

    admin.register(TaskRow, TaskAdmin)
    """

    list_display = (
        "name",
        "state",
        "attempts",
        "queue",
        "enqueued_at",
        "finished_at",
        "last_error",
    )
    list_filter = ("state", "enqueued_at")
    search_fields = ("name", "task_id", "error")
    ordering = ("-id",)
    fields = _ALL
    readonly_fields = _ALL
    actions = (retry_tasks, cancel_tasks)
    list_per_page = 50

    def has_add_permission(self, request: Request) -> bool:
        """Never: tasks are made by ``enqueue``."""
        return False

    def last_error(self, row: TaskRow) -> str:
        """The first line of the task's last error (the page shows all of it)."""
        first = (row.error or "").strip().splitlines()[:1]
        text = first[0] if first else ""
        return text if len(text) <= 80 else text[:79] + "…"


def register_tasks(site: AdminSite) -> None:
    """Show the database backend's tasks on ``site``::

    register_tasks(admin)
    """
    site.register(TaskRow, TaskAdmin)


__all__ = ["TaskAdmin", "cancel_tasks", "register_tasks", "retry_tasks"]
