"""The OpenAPI 3.1 document of a built app: every route in the schema, as operations."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kettle.openapi._operations import Operation, split_doc
from kettle.openapi._schemas import Schemas

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.openapi import OpenAPI
    from kettle.routing import Route
    from kettle.scaffold import Scaffold

#: The order methods are listed in, as people read an API.
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: The attribute ``kettle.auth``'s guards leave on the handlers they wrap.
_GUARDS = "__kettle_guards__"


def _session_scheme(app: App) -> dict[str, Any]:
    return {
        "type": "apiKey",
        "in": "cookie",
        "name": app.settings.session_cookie,
        "description": "The session cookie set when signing in. POST, PUT, PATCH and DELETE "
        "requests that carry it also need the CSRF token in the `X-CSRF-Token` header.",
    }


_BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (`Authorization: Bearer <token>`); it needs no CSRF token.",
}


def _chains(app: App) -> dict[int, tuple[Scaffold, ...]]:
    """The app and groups enclosing each scaffold (by id), outermost first."""
    out: dict[int, tuple[Scaffold, ...]] = {}

    def walk(owner: Scaffold, chain: tuple[Scaffold, ...]) -> None:
        chain = (*chain, owner)
        out[id(owner)] = chain
        for group in owner.groups:
            walk(group, chain)

    walk(app, ())
    return out


def _guards(route: Route, chain: tuple[Scaffold, ...], app: App) -> list[str]:
    """What the guards on ``route`` require: the handler's own, then ``guard(group, ...)``'s."""
    found = list(getattr(route.endpoint, _GUARDS, ()))
    guards = sys.modules.get("kettle.auth.guards")
    if guards is None:
        return found
    auth = getattr(app.state, "auth", None)
    if auth is not None and route.owner is getattr(auth, "group", None):
        return found  # the auth pages (login, reset) stay open
    for scaffold in chain:
        for hook in scaffold.before_hooks:
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, guards.Guard):
                found.append(owner.description)
    return found


def merge(into: dict[str, Any], extra: Any) -> dict[str, Any]:
    """Deep-merge ``extra`` into ``into``: dicts merge, lists extend, the rest replaces."""
    for key, value in extra.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merge(old, value)
        elif isinstance(old, list) and isinstance(value, list | tuple):
            old.extend(value)
        else:
            into[key] = value
    return into


def _routes(app: App, options: OpenAPI) -> list[Route]:
    """The routes to document, each once, by path."""
    found = {id(r): r for table in app.router.static.values() for r in table.values()}
    found.update((id(r), r) for p in app.router.patterns for r in p.by_method.values())
    return sorted(
        (
            route
            for route in found.values()
            if (route.openapi or {}).get("include_in_schema", True)
            and (not options.paths or route.path.startswith(options.paths))
        ),
        key=lambda route: route.path,
    )


def _methods(route: Route) -> list[str]:
    """The route's methods as operations: HEAD goes with GET, in the usual order."""
    return sorted(
        (m.lower() for m in route.methods if m != "HEAD" or route.methods == {"HEAD"}),
        key=lambda m: _METHODS.index(m) if m in _METHODS else len(_METHODS),
    )


def _operation(
    app: App, route: Route, op: Operation, method: str, guards: list[str]
) -> dict[str, Any]:
    """The operation for one method of a route, without its ``operationId``."""
    extra = route.openapi or {}
    summary, description = split_doc(route.endpoint)
    operation: dict[str, Any] = {}
    tags = list(extra.get("tags") or ([] if route.owner is app else [route.owner.name]))
    if tags:
        operation["tags"] = tags
    summary = extra.get("summary", summary)
    if summary:
        operation["summary"] = summary
    text = extra.get("description", description)
    if guards:
        needs = "Needs " + "; ".join(guards) + "."
        text = f"{text}\n\n{needs}" if text else needs
    if text:
        operation["description"] = text
    parameters = op.parameters()
    if parameters:
        operation["parameters"] = parameters
    body = op.request_body()
    if body is not None and method not in ("get", "head", "delete"):
        operation["requestBody"] = body
    operation["responses"] = op.responses(bool(guards))
    if guards:
        operation["security"] = [{"sessionCookie": []}, {"bearerAuth": []}]
    if extra.get("deprecated"):
        operation["deprecated"] = True
    return operation


def build(app: App, options: OpenAPI) -> dict[str, Any]:
    """The document of ``app`` (built first if it is not)."""
    app.build()
    schemas = Schemas()
    chains = _chains(app)
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    ids: set[str] = set()
    secured = False
    for route in _routes(app, options):
        op = Operation(route, app.converters, schemas)
        guards = _guards(route, chains[id(route.owner)], app)
        secured = secured or bool(guards)
        methods = _methods(route)
        extra = route.openapi or {}
        for method in methods:
            operation = _operation(app, route, op, method, guards)
            tags.extend(t for t in operation.get("tags", ()) if t not in tags)
            operation_id = extra.get("operation_id", route.name)
            if len(methods) > 1:
                operation_id = f"{operation_id}.{method}"
            while operation_id in ids:
                operation_id += "_"
            ids.add(operation_id)
            operation["operationId"] = operation_id
            if "openapi_extra" in extra:
                merge(operation, _copy(extra["openapi_extra"]))
            paths.setdefault(op.path, {})[method] = operation
    schemas.resolve()
    info: dict[str, Any] = {"title": options.title, "version": options.version}
    if options.description:
        info["description"] = options.description
    document: dict[str, Any] = {"openapi": "3.1.0", "info": info}
    if options.servers:
        document["servers"] = [{"url": url} for url in options.servers]
    document["paths"] = paths
    components: dict[str, Any] = {"schemas": schemas.components}
    if secured:
        components["securitySchemes"] = {
            "sessionCookie": _session_scheme(app),
            "bearerAuth": _BEARER,
        }
    document["components"] = components
    if tags:
        document["tags"] = [{"name": name} for name in tags]
    return document


def _copy(value: Any) -> Any:
    """A deep copy of plain data, so merging never changes what the route declared."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value
