"""The routing table, compiled once at start-up.

Static paths are a dict lookup; paths with parameters are tried as compiled regexes in
the order they were declared; mounts match by prefix last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, cast
from urllib.parse import quote, urlencode

from kettle.converters import DEFAULT_CONVERTERS, Converter
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kettle._types import ASGIApp
    from kettle.handlers import Call, Handler
    from kettle.requests import Request
    from kettle.responses.base import Response
    from kettle.scaffold import Scaffold
    from kettle.websockets import WebSocketOptions

#: The scope key where kettle.i18n notes which part of ``root_path`` is the URL's
#: language prefix, as ``(start, end)`` offsets: ``(4, 7)`` for ``/app/fr``. Mounts only
#: append to ``root_path``, so the offsets stay right in mounted apps.
LANGUAGE_SPAN = "kettle.language_span"

_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*):)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


class OpenAPIOptions(TypedDict, total=False):
    """What a route says about itself in the OpenAPI document, given to the route
    decorators as keywords (all optional)::

        @app.get("/items/<int:id>", summary="One item", tags=["items"],
                 responses={404: {"model": Error, "description": "No such item"}})
        def item(id: int) -> Item: ...

    ``kettle.openapi`` reads them from ``route.openapi``; the core only keeps them.
    """

    #: One line for the operation; default: the first line of the handler's docstring.
    summary: str
    #: Longer text (Markdown); default: the rest of the docstring.
    description: str
    #: Groups for the docs page; default: the names of the route's groups.
    tags: Sequence[str]
    #: More responses by status code (``404``, ``"4XX"``, ``"default"``): a type for the
    #: body, or ``{"model": type, "description": "..."}``.
    responses: Mapping[int | str, Any]
    #: Marks the operation as deprecated.
    deprecated: bool
    #: False leaves the route out of the document (default True).
    include_in_schema: bool
    #: The operation's id; default: the route's name (``"blog.post_detail"``).
    operation_id: str
    #: A dict deep-merged into the generated operation object last, for anything else.
    openapi_extra: Mapping[str, Any]


_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "summary": (str,),
    "description": (str,),
    "tags": (list, tuple),
    "responses": (Mapping,),
    "deprecated": (bool,),
    "include_in_schema": (bool,),
    "operation_id": (str,),
    "openapi_extra": (Mapping,),
}


def openapi_options(given: Mapping[str, Any], where: str) -> OpenAPIOptions | None:
    """Check the OpenAPI keywords given to a route decorator; None when there are none.

    ``openapi_options({"summary": "Ping"}, "route '/ping'")`` -> ``{"summary": "Ping"}``;
    a misspelt or mistyped keyword is a ``ConfigurationError`` naming the route.
    """
    if not given:
        return None
    for key, value in given.items():
        expected = _OPTION_TYPES.get(key)
        if expected is None:
            import difflib

            close = difflib.get_close_matches(key, _OPTION_TYPES, 1)
            hint = f" Did you mean {close[0]}=?" if close else ""
            raise ConfigurationError(
                f"{where}: unknown keyword {key}=.{hint} Route decorators take name= and "
                f"the OpenAPI keywords {', '.join(k + '=' for k in _OPTION_TYPES)}."
            )
        if not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in expected)
            raise ConfigurationError(
                f"{where}: {key}= must be a {names}, got {type(value).__name__} {value!r}."
            )
    responses = given.get("responses", {})
    for status in responses:
        if not (
            (isinstance(status, int) and 100 <= status <= 599)
            or (isinstance(status, str) and re.fullmatch(r"[1-5](?:[0-9]{2}|XX)|default", status))
        ):
            raise ConfigurationError(
                f"{where}: responses= key {status!r} is not a status code; use 100-599, "
                '"4XX"-style ranges or "default".'
            )
    return cast(OpenAPIOptions, dict(given))


class Route:
    """One handler at one path for a set of methods; ``call`` is filled in at start-up."""

    __slots__ = (
        "after",
        "before",
        "call",
        "csrf_exempt",
        "endpoint",
        "error_handlers",
        "methods",
        "name",
        "openapi",
        "owner",
        "param_names",
        "path",
        "websocket",
    )

    def __init__(
        self,
        path: str,
        methods: frozenset[str],
        endpoint: Handler,
        name: str,
        owner: Scaffold,
        csrf_exempt: bool = False,
        openapi: OpenAPIOptions | None = None,
    ) -> None:
        #: The full path pattern, group prefixes included: ``"/blog/posts/<int:id>"``.
        self.path = path
        #: The HTTP methods it answers, upper case: ``frozenset({"GET"})``.
        self.methods = methods
        #: The handler function as the user wrote it (``request.route.endpoint.__name__``).
        self.endpoint = endpoint
        #: Its name for ``url_for``, dotted with its groups' names: ``"blog.post_detail"``.
        self.name = name
        #: The app or ``Group`` it was declared on.
        self.owner = owner
        #: True when ``@csrf_exempt`` marked the handler: no CSRF check for its requests.
        self.csrf_exempt = csrf_exempt
        #: What the route decorator said for the OpenAPI document (``summary=``,
        #: ``tags=``, ...); None when it said nothing.
        self.openapi = openapi
        #: The names of the path's parameters, in order (``("id",)``), set at start-up.
        self.param_names: tuple[str, ...] = ()
        #: The handler compiled at start-up: it takes the request, resolves the handler's
        #: parameters and calls it. None until the app starts.
        self.call: Call | None = None
        #: Hooks and error handlers of the app and every enclosing group, set at start-up.
        self.before: tuple[Callable[[Request], Awaitable[Any]], ...] = ()
        #: The ``after_request`` hooks that run on its responses, innermost group first,
        #: set at start-up.
        self.after: tuple[Callable[[Request, Response], Awaitable[Any]], ...] = ()
        #: The error handlers that apply to it (the app's, overridden by its groups'),
        #: by exception class or status code, set at start-up.
        self.error_handlers: dict[Any, Callable[[Request, BaseException], Awaitable[Any]]] = {}
        #: For a WebSocket route (``methods == {"WEBSOCKET"}``), its limits, resolved from
        #: the route, its groups and the app at start-up; None for HTTP routes.
        self.websocket: WebSocketOptions | None = None

    def __repr__(self) -> str:
        return f"<Route {self.name!r} {'|'.join(sorted(self.methods))} {self.path}>"


class Mount(NamedTuple):
    """An ASGI app served under a path prefix."""

    #: The full path prefix, group prefixes included, without a trailing ``/``:
    #: ``"/static"``; the mounted app sees the rest of the path.
    prefix: str
    #: The ASGI app that serves every request under ``prefix``.
    app: ASGIApp
    #: Its name for ``url_for`` (dotted with its groups' names: ``"blog.static"``).
    name: str | None = None


class _Pattern(NamedTuple):
    regex: re.Pattern[str]
    converters: dict[str, Converter]
    by_method: dict[str, Route]


class _Step(NamedTuple):
    """One parameter of a route's path, ready for ``url_for``: what precedes it, its name,
    its converter, the converter's regex compiled, what ``quote`` may leave as is, and
    whether it is the built-in ``int`` converter (whose values need no checking)."""

    literal: str
    param: str
    converter: Converter
    fits: re.Pattern[str]
    safe: str
    plain_int: bool


class _Reverse:
    """Builds the URL of one route from ``url_for``'s parameters; made once per route.

    # PERF: a list page calls url_for for every link of every row (three per row on the
    # news front page): regexes are compiled here, a path without parameters is a
    # constant, and an ``int`` id (the usual parameter) skips the regex and ``quote``.
    """

    __slots__ = ("name", "steps", "tail")

    def __init__(self, name: str, parts: list[tuple[str, str | None, Converter | None]]) -> None:
        self.name = name
        self.steps = tuple(
            _Step(
                literal,
                param,
                conv,
                re.compile(conv.regex),
                "/" if conv.regex == ".+" else "",
                conv is DEFAULT_CONVERTERS["int"],
            )
            for literal, param, conv in parts
            if param is not None and conv is not None
        )
        self.tail = parts[-1][0]  # the literal after the last parameter

    def build(self, params: Mapping[str, Any]) -> str:
        if not self.steps:
            return _with_query(self.tail, params) if params else self.tail
        out: list[str] = []
        for step in self.steps:
            out.append(step.literal)
            try:
                value = params[step.param]
            except KeyError:
                raise LookupError(
                    f"url_for({self.name!r}) needs a value for <{step.param}>."
                ) from None
            if step.plain_int and type(value) is int and value >= 0:
                out.append(str(value))  # PERF: digits only, nothing to check or escape
            else:
                out.append(self._text(step, value))
        out.append(self.tail)
        url = "".join(out)
        if len(params) == len(self.steps):  # every value filled a parameter
            return url
        used = {step.param for step in self.steps}
        return _with_query(url, {k: v for k, v in params.items() if k not in used})

    def _text(self, step: _Step, value: Any) -> str:
        try:
            text = str(step.converter.to_url(value))
        except (TypeError, ValueError) as exc:
            raise LookupError(
                f"url_for({self.name!r}): {value!r} cannot fill <{step.param}>: {exc}"
            ) from None
        if step.fits.fullmatch(text) is None:
            raise LookupError(
                f"url_for({self.name!r}): {text!r} does not fit <{step.param}> "
                f"({step.converter.regex})."
            )
        if not text.strip(_UNRESERVED + step.safe):
            return text  # PERF: quote() would return it unchanged, more slowly
        return quote(text, safe=step.safe)


class _MountReverse:
    """The URL of a file under a named mount (static files): ``url_for("static", path=...)``.

    # PERF: a page links the same few files on every render; their URLs are kept (up to
    # ``_KEPT`` paths, after which new ones are built each time).
    """

    __slots__ = ("kept", "prefix")
    _KEPT = 1024

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.kept: dict[str, str] = {}

    def build(self, params: Mapping[str, Any]) -> str:
        path = str(params.get("path", ""))
        url = self.kept.get(path)
        if url is None:
            url = self.prefix + "/" + quote(path.lstrip("/"))
            if len(self.kept) < self._KEPT:
                self.kept[path] = url
        return url


#: What ``quote`` never escapes (RFC 3986's unreserved characters).
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"


def _with_query(url: str, extra: Mapping[str, Any]) -> str:
    return f"{url}?{urlencode(extra, doseq=True)}" if extra else url


def files_root(scope: Mapping[str, Any]) -> str:
    """The root path for links to files in a request: ``root_path`` without the URL's
    language prefix (kettle.i18n), so that a file has one URL, cached once, in every
    language::

        files_root({"root_path": "/app/fr", LANGUAGE_SPAN: (4, 7)})   # "/app"
    """
    root: str = scope.get("root_path", "")
    span = scope.get(LANGUAGE_SPAN)
    if span is None:
        return root
    return root[: span[0]] + root[span[1] :]


def parse_path(
    path: str, converters: Mapping[str, Converter], where: str
) -> list[tuple[str, str | None, Converter | None]]:
    """Split a route path into literals and typed parameters; unknown converters are errors."""
    if not path.startswith("/"):
        raise ConfigurationError(f"{where}: route path {path!r} must start with '/'.")
    parts: list[tuple[str, str | None, Converter | None]] = []
    pos = 0
    seen: set[str] = set()
    for m in _PARAM.finditer(path):
        conv_name, name = m.group("conv") or "str", m.group("name")
        if conv_name not in converters:
            raise ConfigurationError(
                f"{where}: unknown converter {conv_name!r} in {path!r}; known converters: "
                f"{', '.join(sorted(converters))}. Register new ones with app.add_converter()."
            )
        if name in seen:
            raise ConfigurationError(f"{where}: parameter <{name}> appears twice in {path!r}.")
        seen.add(name)
        parts.append((path[pos : m.start()], name, converters[conv_name]))
        pos = m.end()
    parts.append((path[pos:], None, None))
    return parts


class Router:
    """Matches ``(method, path)`` to a route; built from the app's routes at start-up."""

    def __init__(
        self, routes: list[Route], mounts: list[Mount], converters: Mapping[str, Converter]
    ) -> None:
        self.static: dict[str, dict[str, Route]] = {}
        self.patterns: list[_Pattern] = []
        self.mounts = sorted(mounts, key=lambda m: len(m.prefix), reverse=True)
        self.reverse: dict[str, _Reverse | _MountReverse] = {}
        by_regex: dict[str, _Pattern] = {}
        for route in routes:
            where = f"route {route.name!r}"
            parts = parse_path(route.path, converters, where)
            route.param_names = tuple(name for _, name, _ in parts if name)
            if route.name in self.reverse:
                raise ConfigurationError(
                    f"Two routes are named {route.name!r}; give one a different name= "
                    "(names must be unique for url_for)."
                )
            self.reverse[route.name] = _Reverse(route.name, parts)
            table: dict[str, Route]
            if not route.param_names:
                table = self.static.setdefault(route.path, {})
            else:
                regex = "".join(
                    re.escape(literal) + (f"(?P<{name}>{conv.regex})" if name and conv else "")
                    for literal, name, conv in parts
                )
                if regex not in by_regex:
                    convs = {name: conv for _, name, conv in parts if name and conv}
                    by_regex[regex] = _Pattern(re.compile(regex + r"\Z"), convs, {})
                    self.patterns.append(by_regex[regex])
                table = by_regex[regex].by_method
            for method in route.methods:
                if method in table:
                    raise ConfigurationError(
                        f"{method} {route.path} is declared twice: by {table[method].name!r} "
                        f"and {route.name!r}."
                    )
                table[method] = route
        # Static files are named "static" ("blog.static" in a group); as url_for always
        # did, such a mount wins over a route of the same name.
        static_mounts: dict[str, _MountReverse] = {}
        for mount in self.mounts:
            name = mount.name or ""
            if name == "static" or name.endswith(".static"):
                static_mounts.setdefault(name, _MountReverse(mount.prefix))
        self.reverse.update(static_mounts)
        #: The names whose URLs are files (static mounts): in a request they keep the
        #: root path but not a language prefix (``files_root``).
        self.files = frozenset(static_mounts)

    def lookup(self, method: str, path: str) -> tuple[Route | None, dict[str, Any], set[str]]:
        """The route for ``method`` at ``path`` with its converted parameters.

        With no route for the method, the methods other routes at ``path`` accept (for
        405 and OPTIONS); both empty means nothing is at ``path`` (404).
        """
        allowed: set[str] = set()
        # PERF: most requests hit static paths; a dict lookup answers them.
        table = self.static.get(path)
        if table is not None:
            route = table.get(method)
            if route is not None:
                return route, {}, allowed
            allowed.update(table)
        for pattern in self.patterns:
            m = pattern.regex.match(path)
            if m is None:
                continue
            try:
                params = {
                    name: pattern.converters[name].to_python(value)
                    for name, value in m.groupdict().items()
                }
            except (ValueError, TypeError):
                continue
            route = pattern.by_method.get(method)
            if route is not None:
                return route, params, allowed
            allowed.update(pattern.by_method)
        return None, {}, allowed

    def find_mount(self, path: str) -> Mount | None:
        """The mount whose prefix contains ``path``, longest prefix first."""
        for mount in self.mounts:
            if path == mount.prefix or path.startswith(mount.prefix + "/"):
                return mount
        return None

    def url_for(self, name: str, params: Mapping[str, Any]) -> str:
        """Build the path of route ``name``; parameters not in the path become the query."""
        reverse = self.reverse.get(name)
        if reverse is None:
            close = [n for n in self.reverse if n.endswith(name) or name in n][:5]
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise LookupError(f"No route is named {name!r}.{hint}")
        return reverse.build(params)

    def url_for_mount(self, name: str, path: str) -> str | None:
        """The URL of ``path`` inside the mount named ``name`` (``url_for`` builds those of
        static files itself)."""
        for mount in self.mounts:
            if mount.name == name:
                return mount.prefix + "/" + quote(path.lstrip("/"))
        return None


__all__ = [
    "LANGUAGE_SPAN",
    "Mount",
    "OpenAPIOptions",
    "Route",
    "Router",
    "files_root",
    "openapi_options",
    "parse_path",
]
