"""JSON Schemas for the types a document names, made by msgspec in one pass.

Operations ask for a schema while the document is being put together and get an empty
dict back at once; ``resolve`` then runs ``msgspec.json.schema_components`` once over every
type asked for (so a Struct used in ten places becomes one component) and fills each dict
in place. Types msgspec has no schema for (``object``, your own classes) accept any
value: their schema is only a title.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Where components live in an OpenAPI document; msgspec writes its ``$ref``s with it.
REF_TEMPLATE = "#/components/schemas/{name}"

#: The body of every 4xx and 5xx error Kettle sends as JSON (``HTTPException.body()``).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "An error: its HTTP status, the status's phrase and what went wrong.",
    "type": "object",
    "properties": {
        "status": {"type": "integer", "examples": [404]},
        "error": {"type": "string", "examples": ["Not Found"]},
        "detail": {"type": "string", "examples": ["No article with this id."]},
    },
    "required": ["status", "error", "detail"],
}

#: The 422 body: ``Error`` plus one entry per bad field, naming where it came from.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationError",
    "description": "Some fields of the request were invalid; each entry of `errors` names "
    "one: `loc` is its source (path, query, header, cookie, body, form or file) and name.",
    "type": "object",
    "properties": {
        "status": {"type": "integer", "examples": [422]},
        "error": {"type": "string", "examples": ["Unprocessable Entity"]},
        "detail": {"type": "string", "examples": ["Invalid input: query.limit."]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                        "examples": [["query", "limit"]],
                    },
                    "msg": {
                        "type": "string",
                        "examples": [
                            "Query parameter 'limit': expected an integer of at most 100, got 500."
                        ],
                    },
                    "type": {"type": "string", "examples": ["invalid"]},
                },
                "required": ["loc", "msg", "type"],
            },
        },
    },
    "required": [*ERROR_SCHEMA["required"], "errors"],
}

_OWN = {"Error": ERROR_SCHEMA, "ValidationError": VALIDATION_ERROR_SCHEMA}


def ref(name: str) -> dict[str, Any]:
    """A reference to the component ``name``: ``{"$ref": "#/components/schemas/Error"}``."""
    return {"$ref": REF_TEMPLATE.format(name=name)}


def _any(tp: Any) -> dict[str, Any]:
    # NOTE: msgspec calls this for types it has no schema for (``object``, classes of
    # your own); they take any value. msgspec wants a non-empty schema: a title says it.
    return {"title": getattr(tp, "__name__", "Any")}


class Schemas:
    """The types a document needs schemas for, and their components once resolved::

    schemas = Schemas()
    item = schemas.of(Item)       # {} now; {"$ref": "#/components/schemas/Item"} later
    schemas.resolve()
    """

    def __init__(self) -> None:
        self._types: list[Any] = []
        self._slots: list[dict[str, Any]] = []
        self._after: list[Callable[[], None]] = []
        #: The components, filled by ``resolve``: Kettle's ``Error`` and
        #: ``ValidationError`` and every Struct, dataclass, TypedDict and enum named.
        self.components: dict[str, Any] = dict(_OWN)

    def of(self, tp: Any) -> dict[str, Any]:
        """The schema of ``tp``: an empty dict now, filled in by ``resolve``."""
        slot: dict[str, Any] = {}
        self._types.append(tp)
        self._slots.append(slot)
        return slot

    def after(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` once the schemas are made (to narrow one of them further)."""
        self._after.append(fn)

    def resolve(self) -> None:
        """Make every schema asked for with one call to msgspec."""
        import msgspec

        made, components = msgspec.json.schema_components(
            self._types, schema_hook=_any, ref_template=REF_TEMPLATE
        )
        for slot, schema in zip(self._slots, made, strict=True):
            slot.update(schema)
        for name, schema in components.items():
            if name in _OWN:
                from kettle.exceptions import ConfigurationError

                raise ConfigurationError(
                    f"A type named {name!r} is used in the API, but Kettle's OpenAPI "
                    f"document already has a component {name!r} (its error bodies). "
                    "Rename the type."
                )
            self.components[name] = schema
        for fn in self._after:
            fn()
