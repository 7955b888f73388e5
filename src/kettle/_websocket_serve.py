"""Serving a WebSocket route: the handshake checks, the handler's run, the close.

The app calls ``serve`` for every ``websocket`` scope. The handshake goes through what an
HTTP request goes through that makes sense for it (allowed hosts, trusted proxies, the
session, the route's ``before_request`` hooks, so kettle.auth sets ``ws.user``) plus an
Origin check; anything refused before ``accept`` gets an HTTP error response when the
server supports the ``websocket.http.response`` extension, else a close (a 403).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import typing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kettle._config import HostMatcher
from kettle._proxies import apply as apply_forwarded
from kettle._websocket_shutdown import unwatch as unwatch_signals
from kettle._websocket_shutdown import watch as watch_signals
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.handlers import Call, analyse, compile_handler, is_sync
from kettle.websockets import (
    GOING_AWAY,
    NORMAL,
    SERVER_ERROR,
    SyncWebSocket,
    WebSocket,
    WebSocketDisconnect,
    WebSocketOptions,
)

if TYPE_CHECKING:
    from kettle._types import Message, Receive, Scope, Send
    from kettle.app import App
    from kettle.responses.base import Response
    from kettle.routing import Route
    from kettle.scaffold import Scaffold

log = logging.getLogger("kettle.websockets")
#: The pseudo-method WebSocket routes are stored under in the router.
METHOD = "WEBSOCKET"
_HTTP_RESPONSE = "websocket.http.response"
_DEFAULTS = WebSocketOptions()


def compile_websocket(route: Route, executor: Callable[[], Executor]) -> Call:
    """The route's handler as ``call(ws)``; a ``def`` handler gets a ``SyncWebSocket``
    and runs in the thread pool."""
    fn = route.endpoint
    where = f"WebSocket route {route.name!r}"
    fields = analyse(fn, route.param_names)
    body = [f.name for f in fields if f.source in ("body", "form", "file")]
    if body:
        raise ConfigurationError(
            f"{where}: parameter {body[0]!r} would be read from a request body, which a "
            "WebSocket handshake has none of. Read typed messages with "
            "ws.receive_json(Type) or ws.iter(Type) instead."
        )
    hints = typing.get_type_hints(fn, include_extras=True)
    sync = is_sync(fn)
    wanted, other = (SyncWebSocket, WebSocket) if sync else (WebSocket, SyncWebSocket)
    wrong = [name for name, hint in hints.items() if hint is other]
    if wrong:
        kind = "def" if sync else "async def"
        raise ConfigurationError(
            f"{where}: an {kind} handler receives a {wanted.__name__}; annotate "
            f"{wrong[0]!r} as {wanted.__name__}."
        )
    if not sync:
        return compile_handler(fn, route.param_names, executor)
    # A def handler: compiled as if it took a WebSocket, then handed a blocking facade.
    sockets = [name for name, hint in hints.items() if hint is SyncWebSocket]

    @functools.wraps(fn)
    def blocking(**kwargs: Any) -> Any:
        for name in sockets:
            ws = kwargs[name]
            kwargs[name] = SyncWebSocket(ws)
        return fn(**kwargs)

    blocking.__annotations__ = {
        name: WebSocket if hint is SyncWebSocket else hint for name, hint in hints.items()
    }
    # type: ignore: functions take a __signature__ (inspect reads it); typeshed omits it.
    blocking.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    del blocking.__wrapped__  # type hints are read from __annotations__, resolved above
    return compile_handler(blocking, route.param_names, executor)


def options_for(own: WebSocketOptions | None, chain: Sequence[Scaffold]) -> WebSocketOptions:
    """The route's own options, else the nearest group's, else the app's, else defaults."""
    if own is not None:
        return own
    for owner in reversed(chain):
        if owner.websocket_options is not None:
            return owner.websocket_options
    return _DEFAULTS


async def serve(app: App, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the WebSocket handshake and handler for ``scope``."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left before the handshake
    config = app.config
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    if config.trusted_proxies:
        host = apply_forwarded(scope, config.trusted_proxies) or host
    route, params, _ = app.router.lookup(METHOD, scope["path"])
    options = route.websocket if route and route.websocket else _DEFAULTS
    ws = WebSocket(scope, receive, send, app, options)
    if not config.hosts.allows(host):
        shown = host.decode("latin-1") if host else "(none)"
        detail = f"Host {shown!r} is not served here; add it to KETTLE_ALLOWED_HOSTS."
        return await _deny(ws, HTTPException(400, detail))
    if route is None:
        return await _deny(ws, HTTPException(404, f"No WebSocket is served at {ws.path}."))
    ws.route = route
    ws.path_params = params
    refused = _origin_refused(ws, app)
    if refused:
        return await _deny(ws, HTTPException(403, refused))
    try:
        if any(k == b"cookie" for k, _ in scope["headers"]):
            await app._load_session(ws, config.session_cookie)
        for hook in route.before:
            rv = await hook(ws)
            if rv is not None:
                from kettle.app import to_response

                return await _deny(ws, to_response(rv))
    except Exception as exc:
        return await _deny(ws, exc)
    await _run(app, route, ws)


async def _run(app: App, route: Route, ws: WebSocket) -> None:
    call = route.call
    assert call is not None, "the app compiles every route's call at start-up"
    sockets = app.websockets
    sockets.add(ws)
    watch_signals(app)
    try:
        await call(ws)
    except WebSocketDisconnect:
        pass
    except Exception as exc:
        if not ws.accepted:  # not accepted yet: an HTTP error, as for a page
            return await _deny(ws, exc)
        log.error("The WebSocket handler %s failed", route.name, exc_info=exc)
        await ws.close(SERVER_ERROR, "Internal error.")
    finally:
        sockets.discard(ws)
    await ws.close(NORMAL)
    await ws._end()


async def _deny(ws: WebSocket, refusal: Exception | Response) -> None:
    """Refuse the handshake: the error response if the server can send one, else a close."""
    from kettle.responses.base import Response

    app = ws.app
    response = refusal if isinstance(refusal, Response) else await app._handle_error(ws, refusal)
    if _HTTP_RESPONSE not in ws.scope.get("extensions", {}):
        await ws.close(1008 if response.status_code in (401, 403) else 1000)
        return

    async def as_websocket(message: Message) -> None:
        message["type"] = "websocket." + message["type"]
        await ws._send(message)

    await app._finish(ws, response)
    ws._closed(1008)
    await response(ws.scope, ws._receive, as_websocket)


def _origin_refused(ws: WebSocket, app: App) -> str | None:
    """Why the handshake's Origin may not open this socket; None when it may.

    Browsers send Origin with every WebSocket handshake and let any page open one to any
    site, with the user's cookies: without this check another site could act as the user
    (cross-site WebSocket hijacking). Clients that are not browsers send no Origin.
    """
    origin = ws.headers.get("origin")
    if origin is None:
        return None
    allowed = ws.options.origins
    if "*" in allowed:
        return None
    given = origin.lower().rstrip("/")
    parts = urlsplit(given)
    if parts.scheme in ("http", "https") and parts.netloc:
        if parts.netloc == ws.host.lower() or given in allowed:
            return None
        if given in app.config.csrf_trusted_origins:
            return None
        hosts = [h for h in app.settings.allowed_hosts if h != "*"]
        if hosts and HostMatcher.from_settings(hosts).allows(parts.netloc.encode()):
            return None
    return (
        f"The Origin {origin!r} may not open WebSockets here (cross-site). Add it to "
        "WebSocketOptions(origins=...) or KETTLE_CSRF_TRUSTED_ORIGINS if it is yours."
    )


async def close_all(app: App) -> None:
    """Close every open socket with 1001 (going away): the server is stopping."""
    unwatch_signals(app)
    sockets = list(app.websockets)
    if sockets:
        await asyncio.gather(
            *(ws.close(GOING_AWAY, "The server is shutting down.") for ws in sockets)
        )
