"""One route as OpenAPI operations: parameters, request body and responses.

The parameters come from the same analysis of the handler's signature that fills its
arguments (``kettle.handlers.analyse``), so the document says what the app really reads;
constraints written as ``Annotated[int, Meta(ge=1)]`` become JSON Schema keywords.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from kettle.handlers import Field, analyse
from kettle.openapi._schemas import Schemas, ref
from kettle.responses.base import HTMLResponse, JSONResponse, PlainTextResponse, Response
from kettle.routing import parse_path

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kettle.converters import Converter
    from kettle.routing import Route

_EMPTY = inspect.Parameter.empty
_IN = {"path": "path", "query": "query", "header": "header", "cookie": "cookie"}
_BINARY = {"type": "string", "format": "binary"}


def path_template(
    route: Route, converters: Mapping[str, Converter]
) -> tuple[str, dict[str, Converter]]:
    """``/items/<int:id>`` as ``/items/{id}``, with each parameter's converter."""
    parts = parse_path(route.path, converters, f"route {route.name!r}")
    path = "".join(literal + (f"{{{name}}}" if name else "") for literal, name, _ in parts)
    return path, {name: conv for _, name, conv in parts if name and conv}


def split_doc(fn: Any) -> tuple[str | None, str | None]:
    """A docstring's first line (the summary) and the rest (the description)."""
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n")
    return first.strip() or None, rest.strip() or None


def _path_schema(schema: dict[str, Any], converter: Converter) -> None:
    """Narrow a path parameter's schema to what its converter's regex lets through."""
    from kettle.converters import DEFAULT_CONVERTERS

    kind = schema.get("type")
    if kind in ("integer", "number") and (
        converter.to_python is int or converter == DEFAULT_CONVERTERS["float"]
    ):
        schema.setdefault("minimum", 0)  # the regex has no sign
    elif kind == "string" and converter.regex != ".+" and "format" not in schema:
        # NOTE: a path parameter never holds a "/" (nor, here, nothing at all).
        schema.setdefault("pattern", f"^(?:{converter.regex})$")


def _default(value: Any) -> Any:
    """A parameter's default as JSON data (a tuple as a list, an enum as its value)."""
    import msgspec

    if value is _EMPTY:
        return _EMPTY
    try:
        return msgspec.json.decode(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError):
        return _EMPTY


class Operation:
    """Builds the operation object(s) for one route, asking ``schemas`` for its types."""

    def __init__(self, route: Route, converters: Mapping[str, Converter], schemas: Schemas):
        self.route = route
        self.schemas = schemas
        self.path, self.converters = path_template(route, converters)
        self.fields = analyse(route.endpoint, route.param_names)

    # --- parameters ------------------------------------------------------------------------
    def parameters(self) -> list[dict[str, Any]]:
        """The path, query, header and cookie parameters, in signature order."""
        out: list[dict[str, Any]] = []
        for field in self.fields:
            where = _IN.get(field.source or "")
            if where is None or field.key.lower() in ("authorization", "content-type", "accept"):
                continue
            schema = self.schemas.of(field.annotation)
            # NOTE: a path parameter is named in the path by the handler's parameter name.
            name = field.name if where == "path" else field.key
            param: dict[str, Any] = {"name": name, "in": where, "schema": schema}
            if where == "path":
                param["required"] = True
                converter = self.converters[field.name]
                self.schemas.after(functools.partial(_path_schema, schema, converter))
            else:
                param["required"] = field.default is _EMPTY
                default = _default(field.default)
                if default is not _EMPTY:
                    self.schemas.after(functools.partial(schema.setdefault, "default", default))
            out.append(param)
        return out

    # --- request body -----------------------------------------------------------------------
    def request_body(self) -> dict[str, Any] | None:
        """The JSON body, or the form (urlencoded, multipart when it has files)."""
        body = next((f for f in self.fields if f.source == "body"), None)
        if body is not None:
            return {
                "required": body.default is _EMPTY,
                "content": {"application/json": {"schema": self.schemas.of(body.annotation)}},
            }
        form = [f for f in self.fields if f.source in ("form", "file")]
        if not form:
            return None
        files = any(f.source == "file" for f in form)
        kind = "multipart/form-data" if files else "application/x-www-form-urlencoded"
        return {
            "required": any(f.default is _EMPTY for f in form),
            "content": {kind: {"schema": self._form_schema(form)}},
        }

    def _form_schema(self, form: list[Field]) -> dict[str, Any]:
        from kettle.handlers import _is_model

        models = [f for f in form if f.source == "form" and _is_model(f.annotation)]
        if len(form) == 1 and models:
            return self.schemas.of(models[0].annotation)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in form:
            if field.source == "file":
                properties[field.key] = (
                    {"type": "array", "items": _BINARY} if field.many else dict(_BINARY)
                )
            elif field not in models:
                properties[field.key] = self.schemas.of(field.annotation)
            if field.default is _EMPTY and field not in models:
                required.append(field.key)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        if models:
            return {"allOf": [*(self.schemas.of(m.annotation) for m in models), schema]}
        return schema

    # --- responses ------------------------------------------------------------------------
    def responses(self, guarded: bool) -> dict[str, Any]:
        """The success response from the return annotation, the errors Kettle itself may
        send (400, 401, 403, 404, 422), then the route's own ``responses=``."""
        out: dict[str, Any] = dict(self._success())
        if any(f.source in ("body", "form", "file") for f in self.fields):
            out["400"] = _error(400, "The body could not be read (malformed JSON or form).")
        if guarded:
            out["401"] = _error(401, "Nobody is signed in and no API token was sent.")
            out["403"] = _error(403, "The user is not allowed here.")
        if self.route.param_names:
            out["404"] = _error(404, "Nothing is at this path (no such object).")
        if any(f.source is not None for f in self.fields):
            out["422"] = {
                "description": "Some fields were invalid; each is named with its source.",
                "content": {"application/json": {"schema": ref("ValidationError")}},
            }
        for status, spec in ((self.route.openapi or {}).get("responses") or {}).items():
            out[str(status)] = self._declared(status, spec)
        return out

    def _success(self) -> dict[str, Any]:
        try:
            hints = typing.get_type_hints(self.route.endpoint, include_extras=True)
        except Exception:
            hints = {}
        if "return" not in hints:
            return {"200": {"description": "Successful response."}}
        tp = hints["return"]
        if tp is None or tp is type(None):
            return {"204": {"description": "No content."}}
        args = (
            typing.get_args(tp)
            if typing.get_origin(tp) in (typing.Union, types.UnionType)
            else (tp,)
        )
        plain = [a for a in args if not (isinstance(a, type) and issubclass(a, Response))]
        responses = [a for a in args if a not in plain]
        content: dict[str, Any] = {}
        if plain:
            body = plain[0] if len(plain) == 1 else typing.Union[tuple(plain)]  # noqa: UP007
            if body is str:
                content["text/html"] = {"schema": {"type": "string"}}
            elif body is bytes:
                content["application/octet-stream"] = {"schema": dict(_BINARY)}
            else:
                content["application/json"] = {"schema": self.schemas.of(body)}
        for kind in responses:
            for base, media in (
                (JSONResponse, "application/json"),
                (HTMLResponse, "text/html"),
                (PlainTextResponse, "text/plain"),
            ):
                if issubclass(kind, base):
                    content.setdefault(media, {"schema": {}})
        ok: dict[str, Any] = {"description": "Successful response."}
        if content:
            ok["content"] = content
        return {"200": ok}

    def _declared(self, status: int | str, spec: Any) -> dict[str, Any]:
        description = None
        if isinstance(spec, dict):
            description, spec = spec.get("description"), spec.get("model")
        if description is None:
            try:
                description = HTTPStatus(int(status)).phrase
            except ValueError:
                description = "Response."
        out: dict[str, Any] = {"description": description}
        if isinstance(spec, str):
            out["content"] = {"application/json": {"schema": ref(spec)}}
        elif spec is not None:
            out["content"] = {"application/json": {"schema": self.schemas.of(spec)}}
        return out


def _error(status: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
