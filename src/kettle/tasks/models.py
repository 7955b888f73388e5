"""``TaskRow``: the table ``kettle_tasks`` in which the database backend keeps every task.

One row per task, from enqueue to its end (``done``, ``failed`` or ``cancelled``); a
worker claims a row by setting ``state = "running"`` with a lease (``locked_until``) that
it renews while the task runs. The admin lists it like any model::

    TaskRow.objects.filter(state="failed").order_by("-id")[:20]
"""

from __future__ import annotations

import datetime as dt

from kettle.db import Model, fields

#: The states of a task, for forms and the admin's filter.
STATE_CHOICES = [
    ("pending", "Pending"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


class TaskRow(Model):
    """One task kept by the database backend (see the module docstring)::

    row = TaskRow.objects.get(task_id=handle.id)
    row.state, row.attempts, row.error
    """

    #: The task's id (``TaskHandle.id``): a uuid4 in hex, or for a periodic task a uuid5
    #: of its name and tick, so two schedulers firing the same tick make one row.
    task_id: str = fields.string(max_length=32, unique=True)
    #: The task's registered name, such as ``news.tasks.send_mail``.
    name: str = fields.string(max_length=200)
    #: The queue it was sent to.
    queue: str = fields.string(max_length=100, default="default")
    #: Higher runs first among the tasks that are due.
    priority: int = fields.integer(default=0)
    #: ``pending``, ``running``, ``done``, ``failed`` or ``cancelled``.
    state: str = fields.string(max_length=16, default="pending", choices=STATE_CHOICES)
    #: Due from this time (the enqueue time, an eta, or the next retry).
    run_at: dt.datetime = fields.datetime()
    #: How many times a worker has started it.
    attempts: int = fields.integer(default=0)
    #: How many more attempts a failing run gets.
    max_retries: int = fields.integer(default=0)
    #: Seconds one run may take; empty for no limit.
    timeout: float | None = fields.float(null=True)
    #: The key that collapses duplicate enqueues (``@task(unique=True)``, ``unique_key=``).
    unique_key: str | None = fields.string(max_length=200, null=True)
    #: ``unique_key`` while the task is pending or running, else empty: the unique index
    #: on it is what collapses duplicate enqueues, race-free.
    active_key: str | None = fields.string(max_length=200, null=True, unique=True, editable=False)
    #: The arguments, JSON: ``{"args": [...], "kwargs": {...}}``.
    payload: str = fields.text()
    #: The return value, JSON (when done).
    result: str | None = fields.text(null=True)
    #: The last error, ``"ExceptionType: message"``.
    error: str | None = fields.text(null=True)
    #: The last error's traceback.
    traceback: str | None = fields.text(null=True)
    #: The worker running it (``host:pid:...``), while running.
    locked_by: str | None = fields.string(max_length=100, null=True, editable=False)
    #: The end of the running worker's lease; past it another worker may run it again.
    locked_until: dt.datetime | None = fields.datetime(null=True, editable=False)
    #: When it was enqueued.
    enqueued_at: dt.datetime = fields.datetime()
    #: When its last run started.
    started_at: dt.datetime | None = fields.datetime(null=True)
    #: When it ended done, failed or cancelled.
    finished_at: dt.datetime | None = fields.datetime(null=True)

    class Meta:
        table_name = "kettle_tasks"
        ordering = ["-id"]
        # The claim: due pending rows of some queues, highest priority first.
        indexes = [("state", "queue", "-priority", "run_at"), ("state", "locked_until")]

    def __str__(self) -> str:
        return f"{self.name} [{self.state}] {self.task_id}"


__all__ = ["STATE_CHOICES", "TaskRow"]
