"""How a resource's routes describe themselves to ``kettle.openapi``.

The handlers are generic (filters come from the query string at run time), so what the
signature cannot say goes into each route's ``openapi_extra``: the list's query
parameters with their lookups, and the error responses, which reference the ``Error``
and ``ValidationError`` components the generator defines.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import msgspec

from kettle.db.expressions import TRANSFORMS
from kettle.resources import _schema

if TYPE_CHECKING:
    from kettle.resources._plan import Plan

_ERROR = {"$ref": "#/components/schemas/Error"}
_INVALID = {"$ref": "#/components/schemas/ValidationError"}
_ERRORS = {
    400: "A query parameter names an unknown field or filter, or has a bad value.",
    401: "Not signed in: sign in, or send `Authorization: Bearer <token>`.",
    403: "Signed in, but without the permission this needs.",
    404: "No such row (or page).",
    409: "The database refused the change (a unique value taken, a row still in use).",
    412: "If-Match names another version of the row: it changed since you read it.",
    422: "The body (or a page number) is not valid: each bad field is named.",
    428: "This resource needs If-Match on writes.",
}
_STATUSES = {
    "list": (400, 404, 422),
    "retrieve": (400, 404),
    "create": (409, 422),
    "update": (404, 409, 412, 422),
    "partial_update": (404, 409, 412, 422),
    "delete": (404, 409, 412),
}
_TEXT_LOOKUPS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)


def summary(plan: Plan, action: str) -> str:
    """One line per action: ``"List articles"``, ``"Replace an article"``."""
    noun = plan.model.__name__
    return {
        "list": f"List {noun} rows",
        "retrieve": f"Get one {noun}",
        "create": f"Create a {noun}",
        "update": f"Replace a {noun}",
        "partial_update": f"Change some fields of a {noun}",
        "delete": f"Delete a {noun}",
    }[action]


def extra(plan: Plan, action: str) -> dict[str, Any]:
    """The ``openapi_extra`` of one action's route."""
    statuses = list(_STATUSES[action])
    resource = plan.resource
    if action not in ("list", "retrieve") or not resource.public_read:
        statuses += [401, 403]
    if action in ("update", "partial_update", "delete") and resource.require_if_match:
        statuses.append(428)
    responses: dict[str, Any] = {
        str(status): {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": _INVALID if status == 422 else _ERROR}},
        }
        for status in sorted(statuses)
    }
    if action == "retrieve":
        responses["304"] = {"description": "Not modified: If-None-Match names the current ETag."}
    if action == "delete":
        responses["204"] = {"description": f"The {plan.model.__name__} is deleted."}
    if action in ("retrieve", "create", "update", "partial_update"):
        success = "201" if action == "create" else "200"
        responses[success] = {"headers": {"ETag": _ETAG}}
    result: dict[str, Any] = {"responses": responses}
    if action == "list":
        result["parameters"] = list_parameters(plan)
    elif action == "retrieve":
        result["parameters"] = [_header("If-None-Match", False, _IF_NONE_MATCH)]
    elif action != "create":
        result["parameters"] = [_header("If-Match", resource.require_if_match, _IF_MATCH)]
    return result


def responses(plan: Plan, action: str) -> dict[int | str, Any]:
    """The ``responses=`` of one action's route: the 201 of a create (the other
    successes come from the handler's return annotation)."""
    if action != "create":
        return {}
    return {201: {"model": plan.output, "description": "Created; Location is its URL."}}


def list_parameters(plan: Plan) -> list[dict[str, Any]]:
    """The list's query parameters: each filter, then ordering, search, paging, fields."""
    listing = plan.listing
    cols = _schema.columns(plan.model)
    params: list[dict[str, Any]] = []
    for param, (key, lookup) in listing.filters.items():
        field = key.rsplit("__", 1)[0]
        params.append(
            _query(param, _filter_schema(plan.model, cols, field, lookup), f"{field} {lookup}")
        )
    if listing.ordering:
        names = ", ".join(listing.ordering)
        params.append(
            _query("ordering", {"type": "string"}, f"Comma-separated, `-` reverses: {names}.")
        )
    if listing.search_fields:
        fields = ", ".join(listing.search_fields)
        params.append(_query("search", {"type": "string"}, f"Text to find in {fields}."))
    size = {"type": "integer", "minimum": 1}
    if listing.cursor_types is None:
        params.append(_query("page", size, "The page, from 1."))
    else:
        params.append(_query("cursor", {"type": "string"}, "The `next` link's cursor."))
    params.append(
        _query("page_size", size, f"Rows per page (at most {listing.max_page_size}; clamped).")
    )
    params.append(
        _query(
            "fields",
            {"type": "string"},
            f"Comma-separated fields to send: {', '.join(listing.output_fields)}.",
        )
    )
    return params


_ETAG = {
    "description": "The row's version: send it back in If-Match to change the row safely.",
    "schema": {"type": "string"},
}
_IF_NONE_MATCH = "ETags of copies you hold: 304 with no body when the row is still one of them."
_IF_MATCH = "The ETag of your last read of the row: 412 when it changed since."


def _header(name: str, required: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _filter_schema(model: type[Any], cols: dict[str, Any], field: str, lookup: str) -> Any:
    if lookup == "isnull":
        return {"type": "boolean"}
    if lookup in _TEXT_LOOKUPS or lookup in ("in", "range") or "__" in field:
        return {"type": "string"}
    if lookup in TRANSFORMS:
        return {"type": "integer"}
    column = cols.get(field)
    if column is None:
        return {"type": "string"}
    tp = _schema.python_type(column, for_input=False)
    tp = next((a for a in getattr(tp, "__args__", ()) if a is not type(None)), tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [str(m.value) for m in tp]}
    try:
        schema = msgspec.json.schema(tp)
    except (TypeError, ValueError):
        return {"type": "string"}
    return {"type": "string"} if "$ref" in schema else schema


__all__ = ["extra", "list_parameters", "responses", "summary"]
