"""What the app and route groups share: route decorators, hooks and error handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from kettle.exceptions import ConfigurationError
from kettle.routing import openapi_options

if TYPE_CHECKING:
    from kettle._types import ASGIApp
    from kettle.handlers import Handler
    from kettle.routing import OpenAPIOptions
    from kettle.websockets import WebSocketOptions

H = TypeVar("H", bound=Callable[..., Any])
BeforeHook = Callable[..., Any]
AfterHook = Callable[..., Any]
ErrorHandler = Callable[..., Any]


class Scaffold:
    """Routes and hooks declared on an app or a group, kept until the app is built."""

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        root: str | Path | None = None,
        templates: str | Path | None = None,
        static: str | Path | None = None,
        models: Iterable[str] = (),
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ConfigurationError(
                f"The prefix of {name!r} must start with '/' and not end with one; got {prefix!r}."
            )
        self.name = name
        self.prefix = prefix
        self.root = Path(root) if root is not None else Path.cwd()
        self.template_folder = self._folder(templates)
        self.static_folder = self._folder(static)
        #: Modules holding this app's or group's models, imported by ``kettle.db``.
        self.models = tuple(models)
        self.routes: list[tuple[str, frozenset[str], Handler, str | None]] = []
        #: The OpenAPI keywords given to the route decorators, by index in ``routes``.
        self.route_openapi: dict[int, OpenAPIOptions] = {}
        self.mounts: list[tuple[str, ASGIApp, str | None]] = []
        self.groups: list[Group] = []
        self.before_hooks: list[BeforeHook] = []
        self.after_hooks: list[AfterHook] = []
        self.error_handlers: dict[type[BaseException] | int, ErrorHandler] = {}
        #: ``kettle <name>`` commands declared with ``command()``, by name.
        self.commands: dict[str, Callable[..., Any]] = {}
        #: Limits of this app's or group's WebSocket routes (``WebSocketOptions``); None
        #: takes the enclosing group's, then the app's, then the defaults.
        self.websocket_options: WebSocketOptions | None = None
        #: Options given to ``websocket(options=...)``, by index in ``routes``.
        self.route_websocket: dict[int, WebSocketOptions] = {}
        #: Set when the app is built; later declarations would be silently lost.
        self.frozen = False

    def _check_open(self, what: str) -> None:
        if self.frozen:
            raise ConfigurationError(
                f"{what} on {self.name!r} comes after the app started serving, so it would "
                "never take effect. Declare routes, groups and hooks at import time, before "
                "the first request."
            )

    def _folder(self, folder: str | Path | None) -> Path | None:
        return None if folder is None else self.root / folder

    # --- routes -----------------------------------------------------------------------
    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        *,
        name: str | None = None,
        **openapi: Unpack[OpenAPIOptions],
    ) -> Callable[[H], H]:
        """Register a handler for ``path`` and ``methods``; the OpenAPI keywords
        (``summary=``, ``tags=``, ``responses=``, ... see ``OpenAPIOptions``) describe it
        in the OpenAPI document::

        @app.route("/ping", methods=["GET", "POST"], summary="Check the app is up")
        def ping():
            return "pong"
        """
        verbs = frozenset(m.upper() for m in methods)
        options = openapi_options(openapi, f"{self.name}: route {path!r}")

        def decorator(fn: H) -> H:
            self._check_open(f"The route {path!r}")
            if options is not None:
                self.route_openapi[len(self.routes)] = options
            self.routes.append((path, verbs, fn, name))
            return fn

        return decorator

    def get(
        self, path: str, *, name: str | None = None, **openapi: Unpack[OpenAPIOptions]
    ) -> Callable[[H], H]:
        """Register a GET handler (HEAD is answered by it too): ``@app.get("/")``."""
        return self.route(path, ("GET",), name=name, **openapi)

    def post(
        self, path: str, *, name: str | None = None, **openapi: Unpack[OpenAPIOptions]
    ) -> Callable[[H], H]:
        """Register a POST handler: ``@app.post("/articles")``."""
        return self.route(path, ("POST",), name=name, **openapi)

    def put(
        self, path: str, *, name: str | None = None, **openapi: Unpack[OpenAPIOptions]
    ) -> Callable[[H], H]:
        """Register a PUT handler: ``@app.put("/articles/<int:id>")``."""
        return self.route(path, ("PUT",), name=name, **openapi)

    def patch(
        self, path: str, *, name: str | None = None, **openapi: Unpack[OpenAPIOptions]
    ) -> Callable[[H], H]:
        """Register a PATCH handler: ``@app.patch("/articles/<int:id>")``."""
        return self.route(path, ("PATCH",), name=name, **openapi)

    def delete(
        self, path: str, *, name: str | None = None, **openapi: Unpack[OpenAPIOptions]
    ) -> Callable[[H], H]:
        """Register a DELETE handler: ``@app.delete("/articles/<int:id>")``."""
        return self.route(path, ("DELETE",), name=name, **openapi)

    def websocket(
        self, path: str, *, name: str | None = None, options: WebSocketOptions | None = None
    ) -> Callable[[H], H]:
        """Register a WebSocket handler for ``path`` (the same converters as HTTP routes);
        ``async def`` handlers take a ``WebSocket``, ``def`` ones a ``SyncWebSocket``::

            @app.websocket("/rooms/<int:room>")
            async def chat(ws: WebSocket, room: int):
                async for text in ws.iter(str):
                    await ws.send_text(f"{room}: {text}")
        """

        def decorator(fn: H) -> H:
            self._check_open(f"The WebSocket route {path!r}")
            index = len(self.routes)
            self.route_openapi[index] = {"include_in_schema": False}
            if options is not None:
                self.route_websocket[index] = options
            self.routes.append((path, frozenset({"WEBSOCKET"}), fn, name))
            return fn

        return decorator

    def mount(self, prefix: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Serve any ASGI app under ``prefix``; it sees the rest of the path::

        app.mount("/legacy", starlette_app)
        """
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ConfigurationError(
                f"Mount prefix {prefix!r} must start with '/' and not end with one."
            )
        self._check_open(f"The mount {prefix!r}")
        self.mounts.append((prefix, app, name))

    def resource(self, prefix: str, resource: type[Any], *, name: str | None = None) -> None:
        """Publish a ``kettle.resources.Resource`` under ``prefix`` (list and create at
        ``prefix``, the rest at ``prefix/<int:id>``; routes ``<name>.list``, ...)::

            app.resource("/api/articles", ArticleResource)
        """
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ConfigurationError(
                f"Resource prefix {prefix!r} must start with '/' and not end with one."
            )
        self._check_open(f"The resource {prefix!r}")
        from kettle.resources._mount import mount

        mount(self, prefix, resource, name)

    def include(self, group: Group) -> None:
        """Add a route group (with its prefix, hooks, templates and static files)::

        blog = Group("blog", prefix="/blog")
        app.include(blog)
        """
        self._check_open(f"Including the group {group.name!r}")
        if group is self or group in self.groups:
            raise ConfigurationError(f"Group {group.name!r} is already included in {self.name!r}.")
        self.groups.append(group)

    # --- hooks ------------------------------------------------------------------------
    def before_request(self, fn: H) -> H:
        """Run ``fn(request)`` before each handler; a returned value is sent instead.

        ::

            @app.before_request
            def require_api_key(request: Request):
                if request.headers.get("x-api-key") != KEY:
                    return {"error": "forbidden"}, 403
        """
        self._check_open("A before_request hook")
        self.before_hooks.append(fn)
        return fn

    def after_request(self, fn: H) -> H:
        """Run ``fn(request, response)`` after each handler; it may return a new response.

        ::

            @app.after_request
            def no_store(request, response):
                response.set_header("cache-control", "no-store")
                return response
        """
        self._check_open("An after_request hook")
        self.after_hooks.append(fn)
        return fn

    def errorhandler(self, key: type[BaseException] | int) -> Callable[[H], H]:
        """Handle an exception class or an HTTP status with ``fn(request, exc)``::

        @app.errorhandler(404)
        def not_found(request, exc):
            return render("404.html"), 404
        """

        def decorator(fn: H) -> H:
            self._check_open("An error handler")
            self.error_handlers[key] = fn
            return fn

        return decorator

    # --- commands -------------------------------------------------------------------
    def command(self, name: str | None = None) -> Callable[[H], H]:
        """Make ``fn`` the command ``kettle <name>`` (default: its name, with dashes),
        run with the app started and, with kettle.db, in a unit of work. Options and
        arguments are Click's; ``def`` and ``async def`` both work::

            @app.command()
            @click.option("--days", default=30, help="Older than this goes.")
            def prune_drafts(days: int) -> None:
                \"\"\"Delete drafts nobody touched for DAYS days.\"\"\"
                Article.objects.filter(draft=True, updated__lt=ago(days)).delete()

        ``kettle prune-drafts --days 7`` runs it; ``kettle --help`` lists it.
        """
        if callable(name):
            raise ConfigurationError(
                f"@{self.name}.command needs parentheses: write @{self.name}.command() "
                f"above {getattr(name, '__name__', name)!r}."
            )

        def decorator(fn: H) -> H:
            from kettle.commands import command_name

            self._check_open(f"The command {name or getattr(fn, '__name__', fn)!r}")
            key = command_name(self.name, fn, name)
            if key in self.commands:
                raise ConfigurationError(
                    f"{self.name!r} already has a command named {key!r}; give this one "
                    f'another name: @{self.name}.command("other-name").'
                )
            self.commands[key] = fn
            return fn

        return decorator


class Group(Scaffold):
    """A set of routes under a prefix with its own hooks, templates and static files.

    What Flask calls a blueprint and Django an app::

        blog = Group("blog", prefix="/blog", templates="templates", models=["blog.models"])

        @blog.get("/")
        def index():
            return render("blog/index.html")

        app.include(blog)        # url_for("blog.index") == "/blog/"
    """

    def __init__(
        self,
        name: str,
        *,
        prefix: str = "",
        root: str | Path | None = None,
        templates: str | Path | None = None,
        static: str | Path | None = None,
        models: Iterable[str] = (),
    ) -> None:
        if not name.isidentifier():
            raise ConfigurationError(f"Group name {name!r} must be a Python identifier.")
        if root is None:
            root = _caller_folder()
        super().__init__(
            name, prefix=prefix, root=root, templates=templates, static=static, models=models
        )


def _caller_folder() -> Path:
    import sys

    frame = sys._getframe(2)
    file = frame.f_globals.get("__file__")
    return Path(file).resolve().parent if file else Path.cwd()


__all__ = ["Group", "Scaffold"]
