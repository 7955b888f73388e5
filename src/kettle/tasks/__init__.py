"""kettle.tasks: background work that survives restarts.

::

    from kettle.tasks import Tasks, task

    tasks = Tasks(app)                   # tasks in the app's own database by default

    @task(retries=3)
    def send_welcome(user_id: int) -> None: ...

    send_welcome.enqueue(42)             # `kettle worker app.py` runs it

A battery: ``import kettle`` never imports it. ``KETTLE_TASKS_URL`` picks the backend
(``database``, or ``redis://`` / ``amqp://`` for the distributed one) with no code change.
"""

from kettle.tasks._arguments import TaskArgumentError
from kettle.tasks._backend import (
    Backend,
    ManagedBackend,
    TaskRecord,
    TasksUnavailable,
    WorkerLoop,
)
from kettle.tasks._message import TaskMessage
from kettle.tasks._registry import Outcome, Registry
from kettle.tasks._task import CallOptions, Task, TaskHandle, task
from kettle.tasks._tasks import Tasks, current

__all__ = [
    "Backend",
    "CallOptions",
    "ManagedBackend",
    "Outcome",
    "Registry",
    "Task",
    "TaskArgumentError",
    "TaskHandle",
    "TaskMessage",
    "TaskRecord",
    "Tasks",
    "TasksUnavailable",
    "WorkerLoop",
    "current",
    "task",
]
