"""Structured logs: an access line per request, request ids in every record, JSON by setting.

``RequestLogs(app)`` gives each request an id (a well-formed ``X-Request-ID`` from the
client or proxy, else a fresh uuid4 hex), echoes it in the response's ``X-Request-ID``,
stamps it on every log record emitted while the request is served (``record.request_id``,
in handlers, hooks, ``def`` code in the thread pool and tasks the request enqueues) and
logs one line per request on the ``kettle.access`` logger::

    from kettle.logs import RequestLogs

    RequestLogs(app)

``kettle run`` sets up the handlers: ``KETTLE_LOG_FORMAT=json`` writes one JSON object per
line (the default in production), ``text`` a human-readable line (the default elsewhere).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from kettle import _requestid
from kettle._types import Message, Receive, Scope, Send
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request
    from kettle.responses.base import Response

access_log = logging.getLogger("kettle.access")

#: Paths never logged: probes and scrapes would drown the requests that matter.
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})

#: The attributes every ``LogRecord`` has; anything else on a record is an ``extra`` field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamp ``record.request_id`` with the current request's id (``"-"`` outside one).

    Put it on a handler, so records of every logger get it::

        handler.addFilter(RequestIdFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _requestid.current.get() or "-"
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, the record's
    ``extra`` fields, and the traceback as ``exc_info`` when there is one::

        handler.setFormatter(JSONFormatter())
        log.info("paid", extra={"order": 7})
        # {"time": "2026-12-07T10:15:04.120Z", "level": "INFO", "logger": "shop",
        #  "message": "paid", "request_id": "4f0c...", "order": 7}
    """

    def format(self, record: logging.LogRecord) -> str:
        created = time.gmtime(record.created)
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        return json.dumps(out, default=str)


def log_format() -> str:
    """``KETTLE_LOG_FORMAT`` (``json`` or ``text``), else json in production, else text::

    log_format()   # "text" in development
    """
    chosen = os.environ.get("KETTLE_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    if chosen:
        raise ConfigurationError(
            f"KETTLE_LOG_FORMAT={chosen!r} is not a log format; set it to json or text."
        )
    return "json" if os.environ.get("KETTLE_ENV", "production") == "production" else "text"


def dict_config(format: str | None = None, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for Kettle's logs on stderr, in ``format`` (default
    ``log_format()``); ``kettle run`` hands it to the server's workers::

        logging.config.dictConfig(dict_config("json"))
    """
    format = format or log_format()
    formatter: dict[str, Any] = (
        {"()": "kettle.logs.JSONFormatter"} if format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "kettle.logs.RequestIdFilter"}},
        "formatters": {"kettle": formatter},
        "handlers": {
            "kettle": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "kettle",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["kettle"], "level": level},
        "loggers": {
            "_granian": {"handlers": ["kettle"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["kettle"], "level": level, "propagate": False},
        },
    }


class RequestLogs:
    """The battery (see the module docstring): request ids and the access log::

    RequestLogs(app, quiet={"/healthz", "/readyz", "/metrics", "/ping"})
    """

    def __init__(self, app: App, *, quiet: frozenset[str] | set[str] = QUIET) -> None:
        self.quiet = frozenset(quiet)
        app.add_middleware(_Middleware, quiet=self.quiet)
        app.on_response(note_route)
        app.state.request_logs = self


def note_route(request: Request, response: Response) -> None:
    """Keep the matched route's path template in the scope (``kettle.route``), for logs and
    metrics that must never label by raw path::

        app.on_response(note_route)
    """
    route = request.route
    request.scope["kettle.route"] = route.path if route is not None else None


class _Middleware:
    def __init__(self, app: Any, *, quiet: frozenset[str]) -> None:
        self.app = app
        self.quiet = quiet

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                header = value
                break
        rid = scope["kettle.request_id"] = _requestid.accept(header)
        echoed = (b"x-request-id", rid.encode())
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = _requestid.current.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _requestid.current.reset(token)
            path = scope["path"]
            # PERF: isEnabledFor is cached by logging; a disabled access log costs nothing.
            if path not in self.quiet and access_log.isEnabledFor(logging.INFO):
                ms = (time.perf_counter() - start) * 1000
                client = scope.get("client")
                method = scope["method"]
                access_log.info(
                    "%s %s %d %.1fms",
                    method,
                    path,
                    status,
                    ms,
                    extra={
                        "method": method,
                        "path": path,
                        "route": scope.get("kettle.route"),
                        "status": status,
                        "duration_ms": round(ms, 3),
                        "client": client[0] if client else None,
                        "request_id": rid,
                    },
                )


__all__ = [
    "QUIET",
    "JSONFormatter",
    "RequestIdFilter",
    "RequestLogs",
    "dict_config",
    "log_format",
    "note_route",
]
