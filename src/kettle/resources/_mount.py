"""Mounting a resource: one route per action, each a handler with a real signature.

The handlers' parameters (``request``, ``id``, ``body`` typed with the resource's input
Struct) go through the same start-up analysis as any handler, so a bad body is the same
422 and the OpenAPI generator sees the types; their return annotations name the output
Structs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kettle.requests import Request
from kettle.resources import _openapi
from kettle.resources._endpoints import Endpoints, ListPage
from kettle.resources._io import AsyncIO, SyncIO, drive
from kettle.resources._plan import Plan, compile_resource
from kettle.resources.resource import Resource

if TYPE_CHECKING:
    from kettle.scaffold import Scaffold

_READS = frozenset({"list", "retrieve"})
#: Method and whether the path ends in ``/<int:id>``, per action.
_ROUTES = {
    "list": ("GET", False),
    "create": ("POST", False),
    "retrieve": ("GET", True),
    "update": ("PUT", True),
    "partial_update": ("PATCH", True),
    "delete": ("DELETE", True),
}
_P = inspect.Parameter


def mount(scaffold: Scaffold, prefix: str, cls: type[Resource], name: str | None) -> Plan:
    """Compile ``cls`` and add its routes under ``prefix`` to ``scaffold``."""
    plan = compile_resource(cls, name)
    endpoints = Endpoints(plan, AsyncIO() if plan.asynchronous else SyncIO())
    for action in cls.actions:
        method, with_id = _ROUTES[action]
        handler = _handler(plan, endpoints, action)
        path = f"{prefix}/<int:id>" if with_id else prefix or "/"
        scaffold.route(
            path,
            (method,),
            name=f"{plan.name}.{action}",
            tags=[plan.name],
            summary=_openapi.summary(plan, action),
            responses=_openapi.responses(plan, action),
            openapi_extra=_openapi.extra(plan, action),
        )(handler)
    return plan


def _handler(plan: Plan, endpoints: Endpoints, action: str) -> Callable[..., Any]:
    method = getattr(endpoints, action)
    handler: Callable[..., Any]
    if plan.asynchronous:

        async def handler(**kwargs: Any) -> Any:
            return await method(**kwargs)

    else:

        def handler(**kwargs: Any) -> Any:
            # NOTE: runs in the thread pool; the coroutine never suspends (see _io).
            return drive(method(**kwargs))

    parameters = [_P("request", _P.POSITIONAL_OR_KEYWORD, annotation=Request)]
    annotations: dict[str, Any] = {"request": Request}
    if _ROUTES[action][1]:
        parameters.append(_P("id", _P.POSITIONAL_OR_KEYWORD, annotation=int))
        annotations["id"] = int
    if action in ("create", "update", "partial_update"):
        body = plan.patch_body if action == "partial_update" else plan.create_body
        parameters.append(_P("body", _P.POSITIONAL_OR_KEYWORD, annotation=body))
        annotations["body"] = body
    returns = None if action == "delete" else plan.output
    if action == "list":
        returns = ListPage[plan.output]  # type: ignore[name-defined]
    annotations["return"] = returns
    setattr(handler, "__signature__", inspect.Signature(parameters))  # noqa: B010
    handler.__annotations__ = annotations
    handler.__name__ = handler.__qualname__ = f"{plan.name}_{action}"
    handler.__module__ = plan.resource.__class__.__module__
    handler.__doc__ = _openapi.summary(plan, action)
    guards = _guards(plan, action)
    if guards:
        setattr(handler, "__kettle_guards__", guards)  # noqa: B010 - kettle.auth's marker
    for decorate in reversed(_decorators(plan.resource, action)):
        handler = decorate(handler)
    return handler


def _guards(plan: Plan, action: str) -> tuple[str, ...]:
    """What the action asks of the user, as kettle.auth's guards describe it."""
    resource = plan.resource
    if action in _READS and resource.public_read:
        return ()
    if action in _READS or resource.model_permissions:
        return (f"the permission {plan.permission(action)}",)
    return ("a signed-in user",)


def _decorators(resource: Resource, action: str) -> list[Callable[..., Any]]:
    given = resource.decorators
    kind = "read" if action in _READS else "write"
    return [*given.get("*", ()), *given.get(kind, ()), *given.get(action, ())]


__all__ = ["mount"]
