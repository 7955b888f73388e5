"""The routing table, compiled once at start-up.

Static paths are a dict lookup; paths with parameters are tried as compiled regexes in
the order they were declared; mounts match by prefix last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlencode

from kettle.converters import Converter
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kettle._types import ASGIApp
    from kettle.handlers import Call, Handler
    from kettle.requests import Request
    from kettle.responses.base import Response
    from kettle.scaffold import Scaffold

_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*):)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")


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
        "owner",
        "param_names",
        "path",
    )

    def __init__(
        self,
        path: str,
        methods: frozenset[str],
        endpoint: Handler,
        name: str,
        owner: Scaffold,
        csrf_exempt: bool = False,
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
    its converter, the converter's regex compiled, and what ``quote`` may leave as is."""

    literal: str
    param: str
    converter: Converter
    fits: re.Pattern[str]
    safe: str


class _Reverse(NamedTuple):
    # PERF: a page calls url_for for every link of every row; the regexes are compiled
    # here, once per route, rather than looked up in re's cache on every call.
    steps: tuple[_Step, ...]
    tail: str  # the literal after the last parameter

    @classmethod
    def of(cls, parts: list[tuple[str, str | None, Converter | None]]) -> _Reverse:
        steps = tuple(
            _Step(literal, param, conv, re.compile(conv.regex), "/" if conv.regex == ".+" else "")
            for literal, param, conv in parts
            if param is not None and conv is not None
        )
        return cls(steps, parts[-1][0])


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
        self.reverse: dict[str, _Reverse] = {}
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
            self.reverse[route.name] = _Reverse.of(parts)
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
        out: list[str] = []
        for step in reverse.steps:
            out.append(step.literal)
            param = step.param
            if param not in params:
                raise LookupError(f"url_for({name!r}) needs a value for <{param}>.")
            try:
                text = str(step.converter.to_url(params[param]))
            except (TypeError, ValueError) as exc:
                raise LookupError(
                    f"url_for({name!r}): {params[param]!r} cannot fill <{param}>: {exc}"
                ) from None
            if step.fits.fullmatch(text) is None:
                raise LookupError(
                    f"url_for({name!r}): {text!r} does not fit <{param}> ({step.converter.regex})."
                )
            out.append(quote(text, safe=step.safe))
        out.append(reverse.tail)
        url = "".join(out)
        if len(params) == len(reverse.steps):  # every value filled a parameter
            return url
        used = {step.param for step in reverse.steps}
        extra = {k: v for k, v in params.items() if k not in used}
        return f"{url}?{urlencode(extra, doseq=True)}" if extra else url

    def url_for_mount(self, name: str, path: str) -> str | None:
        """The URL of ``path`` inside the mount named ``name`` (e.g. static files)."""
        for mount in self.mounts:
            if mount.name == name:
                return mount.prefix + "/" + quote(path.lstrip("/"))
        return None


__all__ = ["Mount", "Route", "Router", "parse_path"]
