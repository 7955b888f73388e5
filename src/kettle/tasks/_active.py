"""Which ``Tasks`` an ``enqueue`` goes to: the current app's, else the script fallback.

The tasks battery lives on its app (``app.state.tasks``), so two apps in one process each
send to their own backend. ``Tasks(app)`` installs hooks that make it the active object
for each of the app's requests and ``kettle <command>`` runs; ``kettle worker`` and the
testing modes activate theirs while tasks run. Elsewhere (a script, the shell) ``enqueue``
uses the one fallback: the ``Tasks`` made (or ``use()`` d) last in the process::

    tasks_a, tasks_b = Tasks(app_a), Tasks(app_b)
    # in a request of app_a, send_welcome.enqueue(42) goes to tasks_a
    with activated(tasks_a):
        send_welcome.enqueue(42)          # tasks_a, whatever was made last
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kettle.requests import Request
    from kettle.responses import Response
    from kettle.routing import Route
    from kettle.tasks._tasks import Tasks

    RouteRunner = Callable[[Route, Request], Awaitable[Response]]

_active: ContextVar[Tasks | None] = ContextVar("kettle_tasks_active", default=None)
_fallback: Tasks | None = None


def current() -> Tasks:
    """The ``Tasks`` that ``enqueue`` uses here: the current app's (in its requests,
    commands and worker), else the one made or ``use()`` d last::

        current().backend.name   # "database"
    """
    tasks = _active.get()
    if tasks is not None:
        return tasks
    if _fallback is None:
        raise RuntimeError(
            "No Tasks object exists yet, so there is nowhere to enqueue to. Create one "
            "next to your app: `tasks = Tasks(app)` (from kettle.tasks)."
        )
    return _fallback


def set_fallback(tasks: Tasks) -> None:
    """Make ``tasks`` the one used outside any app's request, command or worker
    (``Tasks.use()`` calls this)::

        set_fallback(tasks)
    """
    global _fallback
    _fallback = tasks


@contextlib.contextmanager
def activated(tasks: Tasks) -> Iterator[Tasks]:
    """Inside the block (and the threads and tasks it starts with a copy of its context),
    ``enqueue`` uses ``tasks``::

        with activated(tasks):
            send_welcome.enqueue(42)
    """
    token = _active.set(tasks)
    try:
        yield tasks
    finally:
        _active.reset(token)


class RequestHook:
    """The ``around_request`` hook ``Tasks(app)`` installs: each request of the app
    enqueues to the app's ``Tasks``::

        app.around_request(RequestHook(tasks))
    """

    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks

    def __call__(self, request: Request) -> contextlib.AbstractAsyncContextManager[None]:
        return self.command()

    @contextlib.asynccontextmanager
    async def command(self) -> AsyncIterator[None]:
        """The same for one ``kettle <command>`` (an ``around_command`` hook)::

        app.around_command(RequestHook(tasks).command)
        """
        token = _active.set(self.tasks)
        try:
            yield
        finally:
            _active.reset(token)

    def wrap_route(self, inner: RouteRunner) -> RouteRunner:
        """``inner`` run with the app's ``Tasks`` active (what the app calls, once)."""
        tasks = self.tasks

        # PERF: one coroutine and a context-variable set/reset per request, no context
        # manager: every request of an app with tasks passes here.
        async def run(route: Route, request: Request) -> Response:
            token = _active.set(tasks)
            try:
                return await inner(route, request)
            finally:
                _active.reset(token)

        return run


__all__ = ["RequestHook", "activated", "current", "set_fallback"]
