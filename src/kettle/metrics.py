"""Prometheus metrics at ``/metrics``: requests, latency, database pool use and queries.

A battery over prometheus-client (``pip install 'kettle[metrics]'``)::

    from kettle.metrics import Metrics

    Metrics(app, token="s3cret")   # or KETTLE_METRICS_TOKEN; scrapers send
                                   # Authorization: Bearer s3cret

What it counts:

- ``kettle_requests_total{method, route, status}``: requests by route *template*
  (``/articles/<int:id>``, never the raw path: one series per route, not per URL);
  ``<unmatched>`` for 404s and ``<mount>`` for what a mount (static files) served.
- ``kettle_request_duration_seconds{method, route}``: a latency histogram.
- ``kettle_db_queries_total``: SQL statements run by every engine of the process (the
  fast read path's included: it calls the same ``before_cursor_execute`` listeners).
- ``kettle_db_connections_in_use``: connections checked out of the pools.

With several workers (``kettle run --workers 4``) every worker writes its figures to files
in ``PROMETHEUS_MULTIPROC_DIR`` (``kettle run`` makes a fresh one per run and removes it
after) and ``/metrics``, whichever worker answers it, sums them all.
"""

from __future__ import annotations

import hmac
import os
import time
import weakref
from typing import TYPE_CHECKING, Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

from kettle._types import Message, Receive, Scope, Send
from kettle.exceptions import ConfigurationError
from kettle.logs import note_route

if TYPE_CHECKING:
    from kettle.app import App

#: Latency buckets in seconds: web requests, from a cached page to a slow report.
BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_live: weakref.WeakSet[Metrics] = weakref.WeakSet()
_hooked = False


class Metrics:
    """The battery (see the module docstring); ``app.state.metrics``::

    Metrics(app, path="/metrics", token=None, public=False)

    ``token`` (else ``KETTLE_METRICS_TOKEN``) is the bearer token a scraper must send;
    without one, ``/metrics`` is open only when ``public=True`` or outside production.
    """

    def __init__(
        self,
        app: App,
        *,
        path: str = "/metrics",
        token: str | None = None,
        public: bool = False,
        buckets: tuple[float, ...] = BUCKETS,
    ) -> None:
        self.path = path
        self.token = token or os.environ.get("KETTLE_METRICS_TOKEN") or None
        self.public = public
        #: Where this process's series live (one registry per app, so tests may build many).
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kettle_requests",
            "HTTP requests served, by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kettle_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["method", "route"],
            buckets=buckets,
            registry=self.registry,
        )
        self.queries = Counter(
            "kettle_db_queries",
            "SQL statements run by the database engines.",
            [],
            registry=self.registry,
        )
        self.connections = Gauge(
            "kettle_db_connections_in_use",
            "Database connections checked out of the pools.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        if app._asgi is not None:
            raise ConfigurationError("Metrics(app) must be set up before the app starts.")
        app.state.metrics = self
        app.add_middleware(_Middleware, metrics=self)
        if note_route not in app.response_hooks:
            app.on_response(note_route)
        app.on_startup(lambda: self._check(app))
        app.on_shutdown(_leave)
        _live.add(self)
        _hook_database()

    def _check(self, app: App) -> None:
        if self.token is None and not self.public and app.settings.env == "production":
            raise ConfigurationError(
                f"Metrics(app) would serve {self.path} to anyone in production; set "
                "KETTLE_METRICS_TOKEN (scrapers send it as a bearer token) or pass "
                "Metrics(app, public=True) when only your network can reach the app."
            )

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format, summed over every worker in
        multi-process mode::

            app.state.metrics.exposition().decode()   # "# HELP kettle_requests_total ..."
        """
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return prometheus_client.generate_latest(registry)
        return prometheus_client.generate_latest(self.registry)

    def allows(self, scope: Scope) -> bool:
        """Whether the request may read the metrics (its bearer token matches)."""
        if self.token is None:
            return True
        expected = b"bearer " + self.token.encode()
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value[:7].lower() + value[7:], expected)
        return False


def _leave() -> None:
    """In multi-process mode, drop this worker's live gauges from the sums: a worker that
    a server restarts must not leave its connections counted forever."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _hook_database() -> None:
    """Count statements and checked-out connections of every engine, once per process."""
    global _hooked
    if _hooked:
        return
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool
    except ImportError:  # no kettle[db]: nothing to count
        return
    _hooked = True

    def executed(*args: Any) -> None:
        for metrics in _live:
            metrics.queries.inc()

    def checked_out(*args: Any) -> None:
        for metrics in _live:
            metrics.connections.inc()

    def checked_in(*args: Any) -> None:
        for metrics in _live:
            metrics.connections.dec()

    event.listen(Engine, "before_cursor_execute", executed)
    event.listen(Pool, "checkout", checked_out)
    event.listen(Pool, "checkin", checked_in)


class _Middleware:
    def __init__(self, app: Any, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        if scope["path"] == metrics.path:
            await _serve(metrics, scope, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # NOTE: the route's template, never scope["path"]: one series per route.
            route = scope.get("kettle.route", "<mount>") or "<unmatched>"
            method = scope["method"]
            metrics.requests.labels(method, route, str(status)).inc()
            metrics.latency.labels(method, route).observe(time.perf_counter() - start)


async def _serve(metrics: Metrics, scope: Scope, send: Send) -> None:
    if metrics.allows(scope):
        status, body = 200, metrics.exposition()
        kind = prometheus_client.CONTENT_TYPE_LATEST.encode()
        extra = []
    else:
        status, body = 401, b"Send the metrics token: Authorization: Bearer <token>."
        kind = b"text/plain; charset=utf-8"
        extra = [(b"www-authenticate", b'Bearer realm="metrics"')]
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["BUCKETS", "Metrics"]
