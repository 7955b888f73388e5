"""``Tasks``: the battery object that connects an app to a task backend.

::

    app = App()
    db = Database(app)
    tasks = Tasks(app)          # KETTLE_TASKS_URL, default "database": the app's own database

The URL picks the backend: ``database`` stores tasks in a table of the app's kettle.db
database (no other server); ``redis://...`` and ``amqp://...`` use the distributed
backend. Enqueues made inside a kettle.db unit of work (a request, ``db.session()``) are
sent only when it commits: the database backend inserts the row in the unit's own
transaction, other backends send from ``on_commit`` (after checking, at the enqueue, that
their broker answers: if it does not, the request fails with a 503 and writes nothing).
A backend may skip that check's round trip while its broker answered lately
(``answered_lately()``), and keep what it could not send at commit to send it later
(``send_committed()``); the Redis backend does both.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import msgspec

from kettle.exceptions import ConfigurationError, HTTPException
from kettle.tasks._active import RequestHook, activated, current, set_fallback
from kettle.tasks._backend import Backend, TaskRecord, TasksUnavailable
from kettle.tasks._message import State, TaskMessage, utcnow
from kettle.tasks._registry import Outcome, Registry
from kettle.tasks._task import TaskHandle

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request

log = logging.getLogger("kettle.tasks")

Mode = Literal["send", "eager", "collect"]
#: URL schemes and the factory ``module:function`` that builds their backend from the URL.
SCHEMES: dict[str, str] = {
    "database": "kettle.tasks.database:from_url",
    "redis": "kettle.tasks.distributed:from_url",
    "rediss": "kettle.tasks.distributed:from_url",
    "amqp": "kettle.tasks.distributed:from_url",
    "amqps": "kettle.tasks.distributed:from_url",
}


class Tasks:
    """The tasks battery for an app (see the module docstring).

    ``mode``: ``send`` (default) sends to the backend; ``eager`` runs each task at once,
    in the caller, and keeps its outcome (tests, scripts); ``collect`` only keeps the
    messages in ``collected`` for a test to inspect and run::

        tasks = Tasks(app, mode="collect")
        send_welcome.enqueue(42)
        tasks.collected[0].args      # [42]
        tasks.run_collected()        # runs them, in order
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | None = None,
        *,
        mode: Mode = "send",
        visibility_timeout: float = 60.0,
    ) -> None:
        self.app: App | None = None
        self._url = url
        self.mode: Mode = mode
        #: Seconds a worker holds a claimed task without renewing its lease; after that
        #: another worker may run it again (a killed worker loses nothing).
        self.visibility_timeout = visibility_timeout
        #: The messages enqueued in ``collect`` mode, in order.
        self.collected: list[TaskMessage] = []
        #: Outcomes of tasks run in ``eager`` mode, by id.
        self.records: dict[str, TaskRecord] = {}
        self._backend: Backend | None = None
        if app is not None:
            self.init_app(app)
        else:
            self.use()

    def init_app(self, app: App) -> None:
        """Attach to ``app``: a 503 for ``TasksUnavailable`` in requests; ``enqueue`` in
        the app's requests and commands comes here, and elsewhere too until another
        ``Tasks`` is made (see ``kettle.tasks.current``)::

            tasks = Tasks()
            tasks.init_app(app)
        """
        self.app = app
        app.state.tasks = self
        app.errorhandler(TasksUnavailable)(_respond_unavailable)
        # The app's requests and commands enqueue here, whatever Tasks was made last.
        hook = RequestHook(self)
        app.around_request(hook)
        app.around_command(hook.command)
        if self.url == "database":
            # The table's model registers now, so create_all() and migrations see it.
            importlib.import_module("kettle.tasks.models")
        self.use()

    def use(self) -> Tasks:
        """Make this the object ``enqueue`` uses outside any app's request, command or
        worker, as in a script (the last one made is, by default)::

        Tasks(app, mode="eager").use()
        """
        set_fallback(self)
        return self

    # --- the backend -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The argument, else the ``tasks_url`` setting / ``KETTLE_TASKS_URL``, else
        ``database``::

        Tasks(app, url="redis://127.0.0.1:6379/0").url
        """
        if self._url:
            return self._url
        setting = "database"
        if self.app is not None:
            setting = str(getattr(self.app.settings, "tasks_url", setting))
        if setting != "database":
            return setting
        # NOTE: settings built in code (not ``Settings.load()``) leave the default; the
        # variable still applies to them, as it does without an app.
        return os.environ.get("KETTLE_TASKS_URL") or "database"

    @property
    def backend(self) -> Backend:
        """The backend the URL selects (made on first use)::

        tasks.backend.name   # "database"
        """
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        self._backend = backend

    def _make_backend(self) -> Backend:
        url = self.url
        scheme = url.partition(":")[0].lower()
        target = SCHEMES.get(scheme)
        if target is None:
            raise ConfigurationError(
                f"KETTLE_TASKS_URL={url!r} names no task backend; use 'database' (the app's "
                f"own database) or a URL starting with one of: "
                f"{', '.join(s + '://' for s in SCHEMES if s != 'database')}."
            )
        module, _, attribute = target.partition(":")
        try:
            factory: Callable[[str, Tasks], Backend] = getattr(
                importlib.import_module(module), attribute
            )
        except ImportError as error:
            raise ConfigurationError(
                f"The task backend for {url!r} cannot be imported ({error}); install the "
                "extra it needs: pip install 'kettle[tasks]'."
            ) from None
        return factory(url, self)

    def registry(self) -> Registry:
        """Every task defined in the imported modules (what a worker runs)::

        tasks.registry()["app.add"]
        """
        return Registry.defined()

    # --- enqueueing ------------------------------------------------------------------------
    def enqueue_message(self, message: TaskMessage) -> TaskHandle:
        """Send ``message`` (``Task.enqueue`` calls this): now, at the commit of the current
        unit of work, or as the mode says::

            tasks.enqueue_message(add.message((1, 2), {}, CallOptions()))
        """
        if self.mode != "send":
            return self._keep(message)
        backend = self.backend
        unit = _current_unit()
        if unit is not None:
            joined = getattr(backend, "send_in_unit", None)
            if joined is not None and getattr(backend, "database", None) is unit.database:
                return TaskHandle(self, joined([message])[0])
            from kettle.db.session import on_commit

            # The send waits for the commit; a store that is down already fails the
            # request now (a 503, its writes rolled back) rather than losing the task then.
            if not _answered_lately(backend):
                backend.check()
            on_commit(_committed_send(backend, message))
            return TaskHandle(self, message.id)
        ids = backend.send([message])
        return TaskHandle(self, ids[0] if ids else message.id)

    async def aenqueue_message(self, message: TaskMessage) -> TaskHandle:
        """``enqueue_message`` for async code::

        await tasks.aenqueue_message(message)
        """
        if self.mode != "send":
            return await self._akeep(message)
        backend = self.backend
        unit = _current_unit()
        if unit is not None:
            joined = getattr(backend, "asend_in_unit", None)
            if joined is not None and getattr(backend, "database", None) is unit.database:
                return TaskHandle(self, (await joined([message]))[0])
            from kettle.db.session import on_commit

            # PERF: no thread hop at all while the broker answered lately (see above).
            if not _answered_lately(backend):
                await asyncio.to_thread(backend.check)
            if hasattr(backend, "send_committed"):
                # PERF: a plain callable: the unit runs its callbacks in a thread already.
                on_commit(_committed_send(backend, message))
            else:
                on_commit(lambda: backend.asend([message]))
            return TaskHandle(self, message.id)
        ids = await backend.asend([message])
        return TaskHandle(self, ids[0] if ids else message.id)

    # --- testing modes ---------------------------------------------------------------------
    def _keep(self, message: TaskMessage) -> TaskHandle:
        if self.mode == "collect":
            self.collected.append(message)
            return TaskHandle(self, message.id, _record(message, None))
        registry = self.registry()
        with activated(self):  # what the task enqueues comes here too
            outcome = registry.run(message)
            while outcome.state == "retry":  # eager: the retries at once, without waiting
                message = msgspec.structs.replace(message, attempt=message.attempt + 1)
                outcome = registry.run(message)
        return self._kept(message, outcome)

    async def _akeep(self, message: TaskMessage) -> TaskHandle:
        if self.mode == "collect":
            return self._keep(message)
        registry = self.registry()
        with activated(self):
            outcome = await registry.arun(message)  # on this loop: asyncio.run cannot nest
            while outcome.state == "retry":
                message = msgspec.structs.replace(message, attempt=message.attempt + 1)
                outcome = await registry.arun(message)
        return self._kept(message, outcome)

    def _kept(self, message: TaskMessage, outcome: Outcome) -> TaskHandle:
        record = _record(message, outcome)
        self.records[message.id] = record
        return TaskHandle(self, message.id, record)

    def run_collected(self) -> list[Outcome]:
        """Run the collected messages in order (and any they enqueue), emptying the list::

        assert [o.state for o in tasks.run_collected()] == ["done"]
        """
        registry = self.registry()
        outcomes = []
        while self.collected:
            message = self.collected.pop(0)
            with activated(self):
                outcome = registry.run(message)
            self.records[message.id] = _record(message, outcome)
            outcomes.append(outcome)
        return outcomes


def _record(message: TaskMessage, outcome: Outcome | None) -> TaskRecord:
    state: State = "pending"
    if outcome is not None:
        state = "done" if outcome.state == "done" else "failed"
    return TaskRecord(
        id=message.id,
        name=message.name,
        state=state,
        attempts=0 if outcome is None else message.attempt + 1,
        result=None if outcome is None else outcome.result,
        error=None if outcome is None else outcome.error,
        traceback=None if outcome is None else outcome.traceback,
        queue=message.queue,
        enqueued_at=message.enqueued_at,
        finished_at=None if outcome is None else utcnow(),
    )


def _answered_lately(backend: Backend) -> bool:
    """Whether ``backend`` can vouch that its broker answers without asking it again."""
    lately: Callable[[], bool] | None = getattr(backend, "answered_lately", None)
    return lately is not None and lately()


def _committed_send(backend: Backend, message: TaskMessage) -> Callable[[], object]:
    """The ``on_commit`` callback that sends ``message`` (kept for later when the backend
    can, rather than lost with the broker down at the commit)."""
    committed: Callable[[list[TaskMessage]], object] | None = getattr(
        backend, "send_committed", None
    )
    if committed is not None:
        return functools.partial(committed, [message])
    return functools.partial(backend.send, [message])


def _current_unit() -> Any:
    """The kettle.db unit of work of this context, or None (also without kettle.db)."""
    try:
        from kettle.db import session
    except ImportError:
        return None
    return session.active_unit()


async def _respond_unavailable(request: Request, error: BaseException) -> NoReturn:
    log.error("Tasks could not be enqueued (%s %s): %s", request.method, request.path, error)
    raise HTTPException(
        503,
        "The service is temporarily unavailable; please try again in a moment.",
        {"retry-after": "5"},
    )


__all__ = ["SCHEMES", "Mode", "Tasks", "current"]
