"""OpenTelemetry tracing: a span per request, one for its handler and one per SQL statement.

An opt-in battery over opentelemetry-api (``pip install 'kettle[tracing]'``, plus
opentelemetry-sdk and the exporter you send spans with)::

    from kettle.tracing import Tracing

    Tracing(app)                                  # the global tracer provider
    Tracing(app, tracer_provider=provider)        # or one of your own

What it records:

- a ``SERVER`` span per HTTP request, named ``GET /articles/<int:id>`` (the route
  *template*, never the raw path), with the ``http.request.method``, ``url.path``,
  ``url.scheme``, ``http.route``, ``http.response.status_code``, ``client.address`` and
  ``kettle.request_id`` (with RequestLogs) attributes; a 5xx marks it as an error. A
  ``traceparent`` header from the caller makes it a child of the caller's span.
- a ``handler <name>`` span around the route's hooks and handler, ``def`` and
  ``async def`` alike; an exception is recorded on it.
- a ``CLIENT`` span per SQL statement run during the request, by any engine (the compiled
  fast read path included: it calls the same ``before_cursor_execute`` listeners), with
  ``db.system``, ``db.operation.name`` and ``db.query.text`` (the statement with
  placeholders, never the values).

Without opentelemetry-api installed, ``Tracing(app)`` adds nothing and logs a warning.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kettle._types import Message, Receive, Scope, Send
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.logs import note_route

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, TracerProvider

    _INSTALLED = True
except ImportError:  # pragma: no cover - Tracing(app) then does nothing
    _INSTALLED = False

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context

    from kettle.app import App
    from kettle.requests import Request
    from kettle.responses.base import Response
    from kettle.routing import Route

    Run = Callable[[Route, Request], Awaitable[Response]]

log = logging.getLogger("kettle.tracing")

#: The tracer of the request being served in this context: SQL statements run while it is
#: set get spans of their own (None outside a traced request: tasks, commands).
_tracer: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar(
    "kettle_tracer", default=None
)
_SPANS = "kettle.tracing.spans"
_hooked = False


class Tracing:
    """The battery (see the module docstring); ``app.state.tracing``::

        from opentelemetry.sdk.trace import TracerProvider

        Tracing(app, tracer_provider=TracerProvider())

    ``tracer_provider`` defaults to OpenTelemetry's global one (``trace.set_tracer_provider``),
    which is where the SDK's auto-configuration (``OTEL_*`` variables) puts its own.
    """

    def __init__(self, app: App, *, tracer_provider: TracerProvider | None = None) -> None:
        if app._asgi is not None:
            raise ConfigurationError("Tracing(app) must be set up before the app starts.")
        app.state.tracing = self
        #: The tracer spans are made with; None when opentelemetry-api is not installed.
        self.tracer: Tracer | None = None
        # PERF: without opentelemetry-api, nothing is added: requests cost what they did.
        if not _INSTALLED:
            log.warning("Tracing(app) does nothing: opentelemetry-api is not installed.")
            return
        self.tracer = trace.get_tracer("kettle", tracer_provider=tracer_provider)
        app.add_middleware(_Middleware, tracer=self.tracer)
        app.around_request(_HandlerSpan(self.tracer))
        if note_route not in app.response_hooks:
            app.on_response(note_route)
        _hook_database()


class _Middleware:
    def __init__(self, app: Any, *, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        # NOTE: header names are lower-case bytes in ASGI; the propagator looks up
        # "traceparent" and "tracestate" in the carrier it is given.
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate", b"baggage")
        }
        client = scope.get("client")
        attributes = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if client:
            attributes["client.address"] = client[0]
        span = self.tracer.start_span(
            method,
            context=propagate.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = _tracer.set(self.tracer)
        # PERF: attach/detach, not trace.use_span(): its context manager costs more than
        # the rest of the span's bookkeeping.
        current = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send_status)
        finally:
            otel_context.detach(current)
            _tracer.reset(token)
            _finish(span, scope, method, status)
            span.end()


def _finish(span: Span, scope: Scope, method: str, status: int) -> None:
    route = scope.get("kettle.route")
    if route:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    request_id = scope.get("kettle.request_id")
    if request_id:
        span.set_attribute("kettle.request_id", request_id)
    if status >= 500:
        span.set_status(StatusCode.ERROR, f"HTTP {status}")


class _HandlerSpan:
    """The ``around_request`` hook: a span around the route's hooks and handler, wrapped
    once around the runner (``wrap_route``) rather than entered per request."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    @contextlib.asynccontextmanager
    async def __call__(self, request: Request) -> AsyncIterator[None]:
        assert request.route is not None  # NOTE: around hooks run for matched routes only
        span, token = _enter(self.tracer, request.route)
        try:
            yield
        except BaseException as exc:
            _leave(span, token, exc)
            raise
        _leave(span, token, None)

    def wrap_route(self, inner: Run) -> Run:
        tracer = self.tracer

        # PERF: one coroutine, no context manager: every request of the app passes here.
        async def run(route: Route, request: Request) -> Response:
            span, token = _enter(tracer, route)
            try:
                response = await inner(route, request)
            except BaseException as exc:
                _leave(span, token, exc)
                raise
            _leave(span, token, None)
            return response

        return run


def _enter(tracer: Tracer, route: Route) -> tuple[Span, Token[Context]]:
    """The handler's span, made the current one; the token to detach it with."""
    span = tracer.start_span(f"handler {route.name}", attributes={"http.route": route.path})
    return span, otel_context.attach(trace.set_span_in_context(span))


def _leave(span: Span, token: Token[Context], exc: BaseException | None) -> None:
    otel_context.detach(token)
    if isinstance(exc, HTTPException):
        if exc.status >= 500:
            span.set_status(StatusCode.ERROR, f"HTTP {exc.status}")
    elif isinstance(exc, Exception):
        # NOTE: the app turns it into a 500 page; the span keeps what happened.
        span.record_exception(exc)
        span.set_status(StatusCode.ERROR, type(exc).__name__)
    span.end()


def _hook_database() -> None:
    """Span every SQL statement of every engine, once per process, while a traced request
    is served (see ``_tracer``)."""
    global _hooked
    if _hooked:
        return
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:  # no kettle[db]: no statements to trace
        return
    _hooked = True
    event.listen(Engine, "before_cursor_execute", _before)
    event.listen(Engine, "after_cursor_execute", _after)
    event.listen(Engine, "handle_error", _failed)


def _before(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    tracer = _tracer.get()
    if tracer is None:
        return
    operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    system = connection.dialect.name
    span = tracer.start_span(
        f"{operation} {system}",
        kind=SpanKind.CLIENT,
        attributes={
            "db.system": "mysql" if system == "mariadb" else system,
            "db.operation.name": operation,
            "db.query.text": statement,
        },
    )
    connection.info.setdefault(_SPANS, []).append(span)


def _after(connection: Any, *_args: Any) -> None:
    spans = connection.info.get(_SPANS)
    if spans:
        spans.pop().end()


def _failed(context: Any) -> None:
    connection = context.connection
    spans = connection.info.get(_SPANS) if connection is not None else None
    if spans:
        span = spans.pop()
        span.record_exception(context.original_exception)
        span.set_status(StatusCode.ERROR, type(context.original_exception).__name__)
        span.end()


__all__ = ["Tracing"]
