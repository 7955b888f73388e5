"""The application: routes and batteries declared at import time, compiled at start-up."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kettle import csrf
from kettle._config import AppConfig
from kettle._csp import add_headers as add_policy_headers
from kettle._errors import error_response, server_error
from kettle._proxies import apply as apply_forwarded
from kettle._types import Message, Receive, Scope, Send
from kettle._websocket_serve import METHOD as WEBSOCKET
from kettle._websocket_serve import close_all as close_websockets
from kettle._websocket_serve import compile_websocket, options_for
from kettle._websocket_serve import serve as serve_websocket
from kettle.converters import DEFAULT_CONVERTERS, Converter
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.handlers import compile_handler, is_sync, run_sync
from kettle.i18n._gettext import gettext
from kettle.requests import ClientDisconnect, Request, State
from kettle.responses.base import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from kettle.responses.template import Template
from kettle.routing import Mount, Route, Router
from kettle.scaffold import Group, Scaffold
from kettle.sessions import Session, SessionBackend, SignedCookieBackend
from kettle.settings import Settings

if TYPE_CHECKING:
    from kettle.templates import Templates
    from kettle.websockets import WebSocket

log = logging.getLogger("kettle")
F = TypeVar("F", bound=Callable[..., Any])
Lifespan = Callable[["App"], contextlib.AbstractAsyncContextManager[Any]]
Around = Callable[[Request], contextlib.AbstractAsyncContextManager[Any]]
ResponseHook = Callable[[Request, Response], None]
CommandHook = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


class App(Scaffold):
    """A Kettle application, itself an ASGI app.

    ::

        app = App()

        @app.get("/")
        def index():
            return "Hello, World!"

    ``templates`` and ``static`` are folders next to the file that creates the app.
    """

    def __init__(
        self,
        name: str = "app",
        *,
        settings: Settings | None = None,
        root: str | Path | None = None,
        templates: str | Path | None = "templates",
        static: str | Path | None = "static",
        static_url: str = "/static",
    ) -> None:
        if root is None:
            caller = sys._getframe(1).f_globals.get("__file__")
            root = Path(caller).resolve().parent if caller else Path.cwd()
        super().__init__(name, root=root, templates=templates, static=static)
        self.settings = settings if settings is not None else Settings.load()
        #: Settings loaded here, not given: a test client may switch them to testing.
        self._default_settings = settings is None
        self.static_url_prefix = static_url
        self.state = State()
        self.converters: dict[str, Converter] = dict(DEFAULT_CONVERTERS)
        self.middleware: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        self.startup_hooks: list[Callable[..., Any]] = []
        self.shutdown_hooks: list[Callable[..., Any]] = []
        self.lifespans: list[Lifespan] = []
        self.around_hooks: list[Around] = []
        self.command_hooks: list[CommandHook] = []
        self.response_hooks: list[ResponseHook] = []
        self.template_globals: dict[str, Any] = {}
        self.template_filters: dict[str, Callable[..., Any]] = {}
        self.session_backend: SessionBackend | None = None
        self._asgi: Callable[[Scope, Receive, Send], Any] | None = None
        self._run: Callable[[Route, Request], Awaitable[Response]] = self._run_route
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: The WebSocket connections open now; closed with 1001 at shut-down.
        self.websockets: set[WebSocket] = set()

    # --- declaring --------------------------------------------------------------------
    def add_middleware(self, middleware: Callable[..., Any], **options: Any) -> None:
        """Wrap the app in an ASGI middleware, called as ``middleware(app, **options)``.

        The first one added is the outermost::

            app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])
        """
        if self._asgi is not None:
            raise ConfigurationError("Middleware must be added before the app starts.")
        self.middleware.append((middleware, options))

    def add_converter(self, name: str, converter: Converter) -> None:
        """Make ``<name:param>`` usable in route paths."""
        self.converters[name] = converter

    def on_startup(self, fn: F) -> F:
        """Run ``fn()`` (sync or async) when the server starts, before the first request."""
        self.startup_hooks.append(fn)
        return fn

    def on_shutdown(self, fn: F) -> F:
        """Run ``fn()`` (sync or async) when the server stops."""
        self.shutdown_hooks.append(fn)
        return fn

    def lifespan(self, fn: Lifespan) -> Lifespan:
        """Register an async context manager entered at start-up and left at shut-down::

        @app.lifespan
        @contextlib.asynccontextmanager
        async def http_client(app):
            async with httpx.AsyncClient() as client:
                app.state.http = client
                yield
        """
        self.lifespans.append(fn)
        return fn

    def around_request(self, fn: Around) -> Around:
        """Wrap every request's hooks and handler in ``fn(request)``, an async context
        manager; it sees any exception. Batteries use it (the database's unit of work)::

            @app.around_request
            @contextlib.asynccontextmanager
            async def timed(request):
                start = time.perf_counter()
                yield
                log.info("%s took %.3fs", request.path, time.perf_counter() - start)

        The hooks are chained once, when the app starts. A hook object may also have a
        ``wrap_route(run)`` method, given ``run(route, request)`` and returning one like
        it: the app then calls that once instead of entering the hook per request (the
        database's unit of work does this, to cost one coroutine per request).
        """
        if self._asgi is not None:
            raise ConfigurationError("around_request hooks must be added before the app starts.")
        self.around_hooks.append(fn)
        return fn

    def around_command(self, fn: CommandHook) -> CommandHook:
        """Wrap every ``kettle <command>`` of the app (see ``command()``) in ``fn()``, an
        async context manager entered once the app has started; it sees any exception.
        kettle.db uses it to give each command a unit of work::

            @app.around_command
            @contextlib.asynccontextmanager
            async def timed():
                start = time.perf_counter()
                yield
                log.info("the command took %.3fs", time.perf_counter() - start)
        """
        self.command_hooks.append(fn)
        return fn

    def on_response(self, fn: ResponseHook) -> ResponseHook:
        """Call ``fn(request, response)`` on every response the app sends itself: handlers',
        redirects and error pages alike (404, 405, a failed CSRF check...), but not what a
        mount (static files) sends. It changes the response in place, quickly and without
        I/O; ``after_request`` hooks, by contrast, see only what a route's handler made.
        Batteries use it (kettle.auth marks signed-in pages ``private, no-store``)::

            @app.on_response
            def label(request, response):
                response.set_header("x-served-by", "kettle")
        """
        self.response_hooks.append(fn)
        return fn

    async def run_sync(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run blocking ``fn(*args)`` in the handler thread pool and await its result."""
        return await run_sync(self._pool(), functools.partial(fn, *args))

    def template_global(self, fn: F) -> F:
        """Make ``fn`` callable from every template by its name."""
        self.template_globals[fn.__name__] = fn
        return fn

    def template_filter(self, fn: F) -> F:
        """Make ``fn`` usable as a Jinja2 filter by its name."""
        self.template_filters[fn.__name__] = fn
        return fn

    # --- building ----------------------------------------------------------------------
    def build(self) -> None:
        """Check the settings and compile routes, handlers and middleware (once)."""
        if self._asgi is not None:
            return
        self.settings.check(root=self.root)
        self.config = AppConfig.from_settings(self.settings)
        if self.settings.env == "development" or hasattr(self.state, "openapi"):
            # /openapi.json and /docs: on in development, elsewhere when OpenAPI(app) says.
            from kettle.openapi import install

            install(self)
        routes: list[Route] = []
        mounts: list[Mount] = []
        self._collect(self, (), "", routes, mounts)
        self.router = Router(routes, mounts, self.converters)
        for route in routes:
            if route.websocket is not None:
                route.call = compile_websocket(route, self._pool)
            else:
                route.call = compile_handler(route.endpoint, route.param_names, self._pool)
        if self.session_backend is None:
            self.session_backend = SignedCookieBackend(
                self.settings.secret_key,
                self.settings.secret_key_fallbacks,
                self.settings.session_max_age,
            )
        run: Callable[[Route, Request], Awaitable[Response]] = self._run_route
        for around in reversed(self.around_hooks):
            run = _wrapped(around, run)
        self._run = run
        asgi: Callable[[Scope, Receive, Send], Any] = self._dispatch
        for middleware, options in reversed(self.middleware):
            asgi = middleware(asgi, **options)
        self._asgi = asgi

    @functools.cached_property
    def templates(self) -> Templates:
        """The Jinja2 environments, created on first use."""
        from kettle.templates import Templates

        return Templates(self)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.settings.thread_pool_size, thread_name_prefix="kettle-handler"
            )
        return self._executor

    def _collect(
        self,
        owner: Scaffold,
        chain: tuple[Scaffold, ...],
        prefix: str,
        routes: list[Route],
        mounts: list[Mount],
    ) -> None:
        owner.frozen = True
        chain = (*chain, owner)
        prefix += owner.prefix
        names = [s.name for s in chain[1:]]
        before = tuple(self._as_async(h) for s in chain for h in s.before_hooks)
        after = tuple(self._as_async(h) for s in reversed(chain) for h in s.after_hooks)
        errors: dict[Any, Any] = {}
        for s in chain:
            errors.update({k: self._as_async(h) for k, h in s.error_handlers.items()})
        for index, (path, methods, fn, name) in enumerate(owner.routes):
            full_name = ".".join([*names, name or fn.__name__])
            route = Route(prefix + path, methods, fn, full_name, owner, csrf.is_exempt(fn))
            route.openapi = owner.route_openapi.get(index)
            if methods == {WEBSOCKET}:
                route.websocket = options_for(owner.route_websocket.get(index), chain)
            route.before, route.after, route.error_handlers = before, after, errors
            routes.append(route)
        for mount_prefix, app, name in owner.mounts:
            mounts.append(Mount(prefix + mount_prefix, app, ".".join([*names, name or ""])))
        if owner.static_folder is not None and owner.static_folder.is_dir():
            from kettle.staticfiles import StaticFiles

            url = self.static_url_prefix if owner is self else prefix + "/static"
            mounts.append(
                Mount(url, StaticFiles(owner.static_folder), ".".join([*names, "static"]))
            )
        for group in owner.groups:
            self._collect(group, chain, prefix, routes, mounts)

    def _as_async(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Hooks written with ``def`` run in the thread pool, like ``def`` handlers."""
        if not is_sync(fn):
            return fn

        def call(*args: Any) -> Any:
            return run_sync(self._pool(), lambda: fn(*args))

        return call

    # --- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._asgi is None:
            if scope["type"] == "lifespan":
                # Building inside the lifespan lets a settings error fail start-up cleanly.
                await self._lifespan(receive, send)
                return
            self.build()
        root = scope.get("root_path")
        if root and scope["type"] != "lifespan":
            scope = _inside_root(scope, root)
        await self._asgi(scope, receive, send)  # type: ignore[misc]

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await serve_websocket(self, scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config
        # PERF: one pass over the raw headers checks size, host and declared body length.
        size = 0
        host = length = None
        has_cookie = repeated_host = False
        for name, value in scope["headers"]:
            size += len(name) + len(value)
            if name == b"host":
                repeated_host = host is not None
                host = value
            elif name == b"content-length":
                length = value
            elif name == b"cookie":
                has_cookie = True
        if config.trusted_proxies:
            # Resolved once, before anything reads the scope: client, scheme and host
            # then follow the proxy everywhere (request.url, CSRF, redirects, links).
            host = apply_forwarded(scope, config.trusted_proxies) or host
        request = Request(scope, receive, self)
        if size > config.max_header_size:
            detail = (
                f"The request headers are larger than {config.max_header_size} bytes "
                "(max_header_size)."
            )
            return await self._send(request, HTTPException(431, detail), send)
        if repeated_host:
            detail = "The request has more than one Host header."
            return await self._send(request, HTTPException(400, detail), send)
        if not config.hosts.allows(host):
            shown = host.decode("latin-1") if host else "(none)"
            detail = f"Host {shown!r} is not served here; add it to KETTLE_ALLOWED_HOSTS."
            return await self._send(request, HTTPException(400, detail), send)
        if length is not None:
            if not length.isdigit():
                return await self._send(request, HTTPException(400, "Bad Content-Length."), send)
            if int(length) > config.max_body_size:
                detail = (
                    f"The request body is larger than the limit of {config.max_body_size} "
                    "bytes (max_body_size)."
                )
                return await self._send(request, HTTPException(413, detail), send)
        try:
            response = await self._handle(request, scope, receive, send, has_cookie)
        except Exception as exc:
            response = await self._handle_error(request, exc)
        if response is not None:
            await self._send(request, response, send)

    async def _send(self, request: Request, response: Response | HTTPException, send: Send) -> None:
        if isinstance(response, HTTPException):
            response = await self._handle_error(request, response)
        try:
            await self._finish(request, response)
        except Exception as exc:
            response = await self._handle_error(request, exc)
        try:
            await response(request.scope, request._receive, send)
        finally:
            if request._form is not None:
                await request._form.close()

    async def _handle(
        self, request: Request, scope: Scope, receive: Receive, send: Send, has_cookie: bool
    ) -> Response | None:
        path = scope["path"]
        method = scope["method"]
        # NOTE: "WEBSOCKET" names the routes' handshakes; as an HTTP method it matches none
        # (a 426 where a WebSocket route is), never a handler that expects a WebSocket.
        route, params, allowed = self.router.lookup(method if method != WEBSOCKET else "", path)
        if route is None and method == "HEAD":
            route, params, _ = self.router.lookup("GET", path)
        if route is None:
            mount = None if allowed else self.router.find_mount(path)
            if mount is not None:
                if path == mount.prefix and method in ("GET", "HEAD"):
                    # /static -> /static/: relative links inside the mount then work.
                    query = scope.get("query_string", b"").decode("latin-1")
                    to = scope.get("root_path", "") + path + "/"
                    return RedirectResponse(to + ("?" + query if query else ""), 308)
                await self._call_mount(mount, scope, receive, send)
                return None
        config = self.config
        # NOTE: loaded before a 404 or 405 is raised, so an error page that shows the
        # CSRF token (a "Sign out" button in its layout) reuses the session's secret
        # instead of starting an empty session that would replace the user's cookie.
        if has_cookie:
            await self._load_session(request, config.session_cookie)
        if route is None:
            if not allowed:
                return self._not_found(path, method, scope)
            allow = allowed - {WEBSOCKET} | {"OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())
            headers = {"allow": ", ".join(sorted(allow))}
            if method == "OPTIONS":
                return Response(b"", status=204, headers=headers)
            if allowed == {WEBSOCKET}:
                detail = f"{path} serves WebSockets only; connect with a WebSocket client."
                raise HTTPException(426, detail, {"upgrade": "websocket"})
            detail = gettext("%(method)s is not allowed here.") % {"method": method}
            raise HTTPException(405, detail, headers)
        request.route = route
        request.path_params = params
        if config.csrf_enabled and not route.csrf_exempt and csrf.needs_check(request):
            await csrf.check(request, config.csrf_trusted_origins)
        return await self._run(route, request)

    async def _load_session(self, request: Request, cookie: str) -> None:
        token = request.cookies.get(cookie)
        if token:
            data = await self.session_backend.load(token)  # type: ignore[union-attr]
            session = Session(data, token if data is not None else None)
            session.cookie_sent = True
            request.session_data = session

    async def _run_route(self, route: Route, request: Request) -> Response:
        response: Response | None = None
        for hook in route.before:
            rv = await hook(request)
            if rv is not None:
                response = to_response(rv)
                break
        if response is None:
            response = to_response(await route.call(request))  # type: ignore[misc]
        for after in route.after:
            response = (await after(request, response)) or response
        if isinstance(response, Template) and not response.rendered:
            # Rendered inside the unit of work, so templates may still read the database.
            response.render_with(request)
        return response

    def _not_found(self, path: str, method: str, scope: Scope) -> Response:
        # /articles and /articles/ are different routes; point at the one that exists.
        if method in ("GET", "HEAD") and path != "/":
            other = path[:-1] if path.endswith("/") else path + "/"
            if self.router.lookup("GET", other)[0] is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                other = scope.get("root_path", "") + other
                return RedirectResponse(other + ("?" + query if query else ""), status=308)
        raise HTTPException(404, gettext("Nothing is served at %(path)s.") % {"path": path})

    async def _call_mount(self, mount: Mount, scope: Scope, receive: Receive, send: Send) -> None:
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + mount.prefix
        child["path"] = scope["path"][len(mount.prefix) :] or "/"
        if "raw_path" in scope and scope["raw_path"] is not None:
            child["raw_path"] = scope["raw_path"][len(mount.prefix.encode()) :] or b"/"
        extra = self.config.security_headers
        if self.config.hsts is not None and scope.get("scheme") == "https":
            extra = [*extra, (b"strict-transport-security", self.config.hsts)]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                names = {k for k, _ in message["headers"]}
                message["headers"] = [
                    *message["headers"],
                    *((k, v) for k, v in extra if k not in names),
                ]
            await send(message)

        await mount.app(child, receive, send_with_headers)

    async def _handle_error(self, request: Request, exc: Exception) -> Response:
        handlers = request.route.error_handlers if request.route else self._app_error_handlers()
        status = exc.status if isinstance(exc, HTTPException) else 500
        handler = next((handlers[k] for k in type(exc).__mro__ if k in handlers), None)
        if handler is None:
            handler = handlers.get(status)
        if handler is not None:
            try:
                rv = await handler(request, exc)
                response = to_response(rv)
                if isinstance(response, Template):
                    response.render_with(request)
                return response
            except HTTPException as inner:  # the handler chose the HTTP error to send
                exc = inner
            except Exception as inner:
                log.exception("The error handler for %r failed", exc)
                exc = inner
        if isinstance(exc, HTTPException):
            return error_response(request, exc.status, exc.body(), exc.headers)
        if isinstance(exc, ClientDisconnect):
            return PlainTextResponse("Client disconnected.", status=400)
        log.error("Unhandled error in %s %s", request.method, request.path, exc_info=exc)
        return server_error(request, exc, self.config.debug)

    def _app_error_handlers(self) -> dict[Any, Any]:
        return {k: self._as_async(h) for k, h in self.error_handlers.items()}

    async def _finish(self, request: Request, response: Response) -> None:
        """Render a pending template, save the session, run the ``on_response`` hooks and
        add the security headers."""
        if isinstance(response, Template) and not response.rendered:
            response.render_with(request)
        session = request.session_data
        if session is not None:
            await self._save_session(session, response, https=request.scheme == "https")
        for hook in self.response_hooks:
            hook(request, response)
        extra = self.config.security_headers
        if extra:
            own = self.config.security_header_names
            # PERF: handlers rarely set these headers themselves; then append them all.
            if any(k in own for k, _ in response.raw_headers):
                names = {k for k, _ in response.raw_headers}
                response.raw_headers.extend((k, v) for k, v in extra if k not in names)
            else:
                response.raw_headers.extend(extra)
        config = self.config
        if config.hsts is not None or config.csp is not None:
            https = request.scope.get("scheme") == "https"
            add_policy_headers(response, https, request._csp_nonce, config.hsts, config.csp)

    async def _save_session(
        self, session: Session, response: Response, *, https: bool = False
    ) -> None:
        config = self.config
        backend = self.session_backend
        assert backend is not None
        if session.accessed:
            response.add_header("vary", "Cookie")
        if not session.modified:
            return
        if session.cookie_sent and response.status_code >= 400:
            # An error page never replaces, deletes or starts the session of a client that
            # sent a cookie: else any site could sign a user out by linking to a 404.
            return
        if session.cycled and session.token:
            await backend.delete(session.token)
            session.token = None
        if not session:
            if session.token:
                await backend.delete(session.token)
            response.delete_cookie(config.session_cookie)
            return
        token = await backend.save(session.token, dict(session), config.session_max_age)
        response.set_cookie(
            config.session_cookie,
            token,
            max_age=config.session_max_age,
            # Over HTTPS (a trusted proxy's forwarded scheme included) always Secure.
            secure=config.session_secure or https,
            httponly=True,
            samesite=config.session_samesite,
        )

    # --- lifespan ----------------------------------------------------------------------
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self.startup()
        except BaseException as exc:
            log.error(
                "Kettle could not start: %s", exc, exc_info=not isinstance(exc, ConfigurationError)
            )
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await self.shutdown()
        except BaseException as exc:
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        """Build the app, enter lifespan contexts and run start-up hooks (servers do this)."""
        self.build()
        self._exit_stack = contextlib.AsyncExitStack()
        for lifespan in self.lifespans:
            await self._exit_stack.enter_async_context(lifespan(self))
        for hook in self.startup_hooks:
            await self._as_async(hook)()

    async def shutdown(self) -> None:
        """Run shut-down hooks, leave lifespan contexts and stop the thread pool."""
        try:
            await close_websockets(self)
            for hook in self.shutdown_hooks:
                await self._as_async(hook)()
            if self._exit_stack is not None:
                await self._exit_stack.aclose()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[App]:
        """Start up and shut down around a block (what servers and test clients do)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    # --- URLs --------------------------------------------------------------------------
    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of the route named ``name`` (``"group.function"`` inside groups),
        inside the app: without the root path a mount, a proxy or a language prefix puts
        in front of it in a request. Links made in a request come from ``request.url_for``
        or templates' ``url_for``, which add it::

        app.url_for("show_article", id=7)   # "/articles/7"
        """
        # PERF: templates call this for every link; the router has each name's URL builder
        # (static files' included) ready, so a call is a dict lookup and a join.
        if self._asgi is None:
            self.build()
        return self.router.url_for(name, params)

    def static_url(self, path: str) -> str:
        """The URL of a file in the app's static folder, inside the app (templates'
        ``static("css/site.css")`` adds a request's root path)::

        app.static_url("css/site.css")   # "/static/css/site.css"
        """
        if self._asgi is None:
            self.build()
        return self.router.url_for("static", {"path": path})


def _inside_root(scope: Scope, root: str) -> Scope:
    """The scope with ``path`` inside the app: servers that follow the ASGI spec
    (uvicorn's ``--root-path``) send the full path, ``root_path`` included; Kettle's
    mounts and older servers send the rest only, left as it is."""
    path: str = scope["path"]
    if not path.startswith(root) or path[len(root) : len(root) + 1] not in ("/", ""):
        return scope
    scope = dict(scope)
    scope["path"] = path[len(root) :] or "/"
    raw = scope.get("raw_path")
    if raw is not None:
        prefix = root.encode("latin-1")  # NOTE: raw_path is percent-encoded; so is a root
        scope["raw_path"] = (raw[len(prefix) :] or b"/") if raw.startswith(prefix) else raw
    return scope


def _wrapped(
    around: Around, inner: Callable[[Route, Request], Awaitable[Response]]
) -> Callable[[Route, Request], Awaitable[Response]]:
    """``inner`` run inside the ``around_request`` hook ``around``.

    A hook with a ``wrap_route(inner)`` method (the database's unit of work has one) is
    asked to wrap the runner itself, once, instead.
    """
    wrap = getattr(around, "wrap_route", None)
    if wrap is not None:
        return wrap(inner)  # type: ignore[no-any-return]

    # PERF: the chain of around hooks is composed once, in build(): a request enters each
    # hook with one `async with`, with no AsyncExitStack made per request.
    async def run(route: Route, request: Request) -> Response:
        async with around(request):
            return await inner(route, request)

    return run


def to_response(rv: Any) -> Response:
    """Turn what a handler returned into a response (see ``kettle.responses``)."""
    kind = type(rv)
    # PERF: the common cases are exact type checks, tried first.
    if kind is dict or kind is list:
        return JSONResponse(rv)
    if kind is str:
        return HTMLResponse(rv)
    if isinstance(rv, Response):
        return rv
    if kind is tuple:
        return _from_tuple(rv)
    if rv is None:
        return Response(b"", status=204)
    import msgspec

    if isinstance(rv, msgspec.Struct) or dataclasses.is_dataclass(rv):
        return JSONResponse(rv)
    if isinstance(rv, bytes):
        return Response(rv, media_type="application/octet-stream")
    if isinstance(rv, dict | list):
        return JSONResponse(rv)
    if isinstance(rv, str):
        return HTMLResponse(rv)
    raise TypeError(
        f"A handler returned a {kind.__name__}, which Kettle cannot send. Return a str "
        "(HTML), a dict, list, Struct or dataclass (JSON), (body, status[, headers]) or a "
        "Response."
    )


def _from_tuple(rv: tuple[Any, ...]) -> Response:
    if len(rv) not in (2, 3) or not isinstance(rv[1], int):
        raise TypeError(
            f"A handler returned a tuple of {len(rv)} items; return (body, status) or "
            "(body, status, headers) with an int status."
        )
    response = to_response(rv[0])
    response.status_code = rv[1]
    if rv[1] in (204, 304) or rv[1] < 200:
        response.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
        response.body = b""
    if len(rv) == 3:
        for name, value in dict(rv[2]).items():
            response.set_header(name, value)
    return response


__all__ = ["App", "Group", "to_response"]
