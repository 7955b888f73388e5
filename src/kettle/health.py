"""Health checks: ``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer).

``Health(app)`` answers both before anything else runs (no session, no CSRF check, no
unit of work, no rate limit, no access log, any Host)::

    from kettle.health import Health

    health = Health(app)

    @health.check("search")
    async def search_ready():
        await search_client.ping()

``/healthz`` answers 200 ``ok`` without I/O. ``/readyz`` runs every check at once, each
within ``timeout`` seconds: the app's database (``SELECT 1``), its cache and its task
backend when those batteries are installed, plus the ones added with ``check``. It answers
200 with ``{"status": "ok", "checks": {"database": "ok", ...}}``, or 503 naming the
parts that failed (``"database": "unavailable"``); what went wrong is logged, never sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kettle._types import Receive, Scope, Send
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.app import App

log = logging.getLogger("kettle.health")
Check = Callable[[], Awaitable[Any]]


class Health:
    """The battery (see the module docstring); ``app.state.health``::

    Health(app, timeout=1.0, live="/healthz", ready="/readyz")
    """

    def __init__(
        self,
        app: App,
        *,
        timeout: float = 2.0,
        live: str = "/healthz",
        ready: str = "/readyz",
    ) -> None:
        self.app = app
        self.timeout = timeout
        self.live = live
        self.ready = ready
        #: The checks ``/readyz`` runs, by the name it reports; the batteries' are added
        #: at start-up, so Health(app) may come before or after Database(app).
        self.checks: dict[str, Check] = {}
        if app._asgi is not None:
            raise ConfigurationError("Health(app) must be set up before the app starts.")
        app.state.health = self
        # NOTE: outermost, so probes skip every other middleware (access logs, metrics).
        app.middleware.insert(0, (_Middleware, {"health": self}))
        app.on_startup(self._add_battery_checks)

    def check(self, name: str) -> Callable[[Check], Check]:
        """Add ``fn`` (an ``async def`` that raises when ``name`` is not ready) to
        ``/readyz``::

            @health.check("search")
            async def search_ready():
                await search_client.ping()
        """

        def add(fn: Check) -> Check:
            self.checks[name] = fn
            return fn

        return add

    def _add_battery_checks(self) -> None:
        state = vars(self.app.state)
        if "db" in state:
            self.checks.setdefault("database", _database_check(state["db"]))
        if "cache" in state:
            self.checks.setdefault("cache", _cache_check(state["cache"]))
        if "tasks" in state:
            self.checks.setdefault("tasks", _tasks_check(state["tasks"]))

    async def readiness(self) -> dict[str, str]:
        """Run every check at once; each part's ``"ok"``, ``"unavailable"`` or
        ``"timeout"``::

            await app.state.health.readiness()   # {"database": "ok", "cache": "ok"}
        """
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _run(self, name: str) -> str:
        try:
            await asyncio.wait_for(self.checks[name](), self.timeout)
        except TimeoutError:
            log.warning("Readiness check %r took longer than %gs", name, self.timeout)
            return "timeout"
        except Exception:
            log.warning("Readiness check %r failed", name, exc_info=True)
            return "unavailable"
        return "ok"


def _database_check(db: Any) -> Check:
    async def database() -> None:
        async with db.async_engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    return database


def _cache_check(cache: Any) -> Check:
    async def cache_ping() -> None:
        # NOTE: the Redis backend answers misses while Redis is down; ask Redis itself.
        clients = getattr(cache.backend, "clients", None)
        if clients is not None:
            await clients.async_().ping()
        else:
            await cache.backend.aget(f"{cache.prefix}:health")

    return cache_ping


def _tasks_check(tasks: Any) -> Check:
    async def tasks_check() -> None:
        if tasks.mode == "send":
            await asyncio.to_thread(tasks.backend.check)

    return tasks_check


class _Middleware:
    def __init__(self, app: Any, *, health: Health) -> None:
        self.app = app
        self.health = health
        self.paths = {health.live, health.ready}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PERF: one set lookup on the way to every other request.
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.health.live:
            status, body, kind = 200, b"ok", b"text/plain; charset=utf-8"
        else:
            checks = await self.health.readiness()
            failed = [name for name, result in checks.items() if result != "ok"]
            status = 503 if failed else 200
            document: dict[str, Any] = {
                "status": "unavailable" if failed else "ok",
                "checks": checks,
            }
            if failed:
                document["failed"] = failed
            body, kind = json.dumps(document).encode(), b"application/json"
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


__all__ = ["Health"]
