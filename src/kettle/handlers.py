"""Handler signatures analysed once at start-up into a plan that fills the arguments.

A request then only runs the prepared extractors: no ``inspect`` and no type-hint
resolution happens per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Annotated, Any, NamedTuple

from kettle.exceptions import ConfigurationError, HTTPException, ValidationError
from kettle.params import Param, Source
from kettle.requests import Request, decode_json

Handler = Callable[..., Any]
Call = Callable[[Request], Awaitable[Any]]
_EMPTY = inspect.Parameter.empty


class _FieldError(Exception):
    def __init__(self, message: str, kind: str = "invalid", path: tuple[str | int, ...] = ()):
        self.message = message
        self.kind = kind
        self.path = path


class Field(NamedTuple):
    """One handler parameter: where it comes from and how its text becomes its type."""

    name: str
    source: Source | None  # None: the Request itself
    key: str
    annotation: Any
    default: Any
    many: bool = False

    @property
    def loc(self) -> list[str | int]:
        return [self.source or "request", self.key]


def is_sync(fn: Handler) -> bool:
    """Whether ``fn`` must run in the thread pool (it is not a coroutine function)."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    return not (
        inspect.iscoroutinefunction(target)
        or inspect.iscoroutinefunction(
            getattr(target, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )
    )


def run_sync(executor: Executor, fn: Callable[[], Any]) -> Awaitable[Any]:
    """Run a blocking callable in ``executor`` with the caller's context variables."""
    context = contextvars.copy_context()
    return asyncio.get_running_loop().run_in_executor(executor, context.run, fn)


def _unwrap_optional(tp: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_model(tp: Any) -> bool:
    import msgspec

    tp = _unwrap_optional(tp)
    return isinstance(tp, type) and (
        issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)
    )


def _is_upload(tp: Any) -> bool:
    tp = _unwrap_optional(tp)
    inner = typing.get_args(tp)[0] if typing.get_origin(tp) is list else tp
    # NOTE: compared by name so that apps without uploads never import the form parser.
    return getattr(inner, "__qualname__", None) == "UploadFile" and (
        getattr(inner, "__module__", None) == "kettle.forms"
    )


def _is_many(tp: Any) -> bool:
    return typing.get_origin(_unwrap_optional(tp)) in (list, tuple, set, frozenset)


def analyse(fn: Handler, path_names: typing.Collection[str]) -> list[Field]:
    """Describe every parameter of ``fn``; errors name the handler and the parameter."""
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)!s}"
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(f"Cannot resolve the type hints of {where}: {exc}") from exc
    fields: list[Field] = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ConfigurationError(f"{where}: *args/**kwargs are not supported in handlers.")
        tp = hints.get(p.name, Any)
        marker: Param | None = None
        if typing.get_origin(tp) is Annotated:
            args = typing.get_args(tp)
            tp = args[0]
            marker = next((a for a in args[1:] if isinstance(a, Param)), None)
        if marker is not None:
            source: Source | None = marker.source
            key = marker.alias or (p.name.replace("_", "-") if source == "header" else p.name)
        elif p.name in path_names:
            source, key = "path", p.name
        elif (isinstance(tp, type) and issubclass(tp, Request)) or (
            p.name == "request" and tp is Any
        ):
            source, key = None, p.name
        elif _is_upload(tp):
            source, key = "file", p.name
        elif _is_model(tp):
            source, key = "body", p.name
        else:
            source, key = "query", p.name
        if source == "path" and p.name not in path_names:
            raise ConfigurationError(
                f"{where}: parameter {p.name!r} is marked as a path parameter but the route "
                f"path has no <{p.name}> (it has: {', '.join(path_names) or 'none'})."
            )
        fields.append(Field(p.name, source, key, tp, p.default, _is_many(tp)))
    missing = set(path_names) - {f.name for f in fields if f.source == "path"}
    if missing:
        raise ConfigurationError(
            f"{where} does not accept the path parameter(s) {', '.join(sorted(missing))}; "
            "add them to its signature."
        )
    return fields


_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})


def _to_bool(value: Any) -> bool:
    # Browsers send "on" for a ticked checkbox; people type yes/no in query strings.
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _FieldError(f"Expected a boolean (true/false, on/off, 1/0), got {value!r}")


def _text_converter(tp: Any) -> Callable[[Any], Any]:
    # NOTE: msgspec is imported when handlers are compiled (start-up), not with Kettle.
    import msgspec

    if tp is str or tp is Any:
        return lambda value: value
    if _unwrap_optional(tp) is bool:
        return _to_bool
    if tp is int:

        def to_int(value: Any) -> Any:
            try:
                return int(value)
            except (TypeError, ValueError):
                raise _FieldError(f"Expected an integer, got {value!r}") from None

        return to_int

    def convert(value: Any) -> Any:
        try:
            return msgspec.convert(value, tp, strict=False)
        except msgspec.ValidationError as exc:
            raise _FieldError(str(exc)) from None

    return convert


def _extractor(field: Field) -> Callable[[Request], Any]:
    """A sync function reading one non-body field from the request."""
    convert = _text_converter(field.annotation)
    key, default, required = field.key, field.default, field.default is _EMPTY

    def missing() -> Any:
        if required:
            raise _FieldError("Field required", "missing")
        return default

    if field.source is None:
        return lambda request: request
    if field.source == "path":
        return lambda request: convert(request.path_params[key])
    if field.source == "query":
        if field.many:

            def many(request: Request) -> Any:
                values = request.query.getlist(key)
                return convert(values) if values else missing()

            return many

        def query(request: Request) -> Any:
            value = request.query.get(key)
            return missing() if value is None else convert(value)

        return query
    if field.source == "header":

        def header(request: Request) -> Any:
            value = request.headers.get(key)
            return missing() if value is None else convert(value)

        return header

    def cookie(request: Request) -> Any:
        value = request.cookies.get(key)
        return missing() if value is None else convert(value)

    return cookie


def _body_reader(field: Field) -> Callable[[Request], Awaitable[Any]]:
    """An async function reading the JSON body, a form field, the whole form or a file."""
    import msgspec

    tp, key, default, required = field.annotation, field.key, field.default, field.default is _EMPTY

    def missing() -> Any:
        if required:
            raise _FieldError("Field required", "missing")
        return default

    if field.source == "body":

        async def body(request: Request) -> Any:
            content_type = request.headers.get("content-type", "application/json")
            if "json" not in content_type:
                raise HTTPException(
                    415,
                    f"Expected a JSON body (Content-Type: application/json), got {content_type}.",
                )
            raw = await request.body()
            if not raw:
                return missing()
            try:
                return decode_json(raw, tp)
            except msgspec.ValidationError as exc:
                raise _validation_error(exc) from None

        return body

    if field.source == "form" and _is_model(tp):
        model = _unwrap_optional(tp)
        # Fields typed as lists collect every value of a repeated key (checkboxes, tags).
        hints = typing.get_type_hints(model)
        lists = {name for name, hint in hints.items() if _is_many(hint)}
        bools = {name for name, hint in hints.items() if _unwrap_optional(hint) is bool}

        async def whole_form(request: Request) -> Any:
            form = await request.form()
            values: dict[str, Any] = {}
            for key in form:
                texts = [v for v in form.getlist(key) if isinstance(v, str)]
                if texts:
                    values[key] = texts if key in lists else texts[-1]
            for key in bools & values.keys():
                try:
                    values[key] = _to_bool(values[key])
                except _FieldError as exc:
                    raise _FieldError(exc.message, path=(key,)) from None
            try:
                return msgspec.convert(values, model, strict=False)
            except msgspec.ValidationError as exc:
                raise _validation_error(exc) from None

        return whole_form

    convert = _text_converter(tp)
    many, is_file = field.many, field.source == "file"

    async def form_field(request: Request) -> Any:
        from kettle.forms import UploadFile

        form = await request.form()
        values = form.getlist(key)
        if is_file:
            values = [v for v in values if isinstance(v, UploadFile)]
            if not values:
                return missing()
            return values if many else values[-1]
        texts = [v for v in values if isinstance(v, str)]
        if not texts:
            return missing()
        return convert(texts) if many else convert(texts[-1])

    return form_field


def _validation_error(exc: Exception) -> _FieldError:
    """A msgspec error as a field error whose path names the bad (or missing) field."""
    message, _, at = str(exc).partition(" - at `")
    path = _json_path(at.rstrip("`"))
    missing = _MISSING.search(message)
    if missing:
        return _FieldError("Field required", "missing", (*path, missing.group(1)))
    return _FieldError(message, path=path)


_MISSING = re.compile(r"missing required field `([^`]+)`")


def _json_path(at: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for piece in at.removeprefix("$").replace("[", ".").replace("]", "").split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)


def compile_handler(
    fn: Handler, path_names: typing.Collection[str], executor: Callable[[], Executor]
) -> Call:
    """Turn ``fn`` into ``call(request) -> return value``, doing all analysis now."""
    fields = analyse(fn, path_names)
    sync = is_sync(fn)
    simple = [(f, _extractor(f)) for f in fields if f.source not in ("body", "form", "file")]
    bodies = [(f, _body_reader(f)) for f in fields if f.source in ("body", "form", "file")]

    # PERF: handlers without parameters skip argument filling altogether.
    if not fields:
        if sync:
            return lambda request: run_sync(executor(), fn)
        return lambda request: fn()

    async def call(request: Request) -> Any:
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for field, extract in simple:
            try:
                kwargs[field.name] = extract(request)
            except _FieldError as exc:
                errors.append({"loc": field.loc, "msg": exc.message, "type": exc.kind})
        for field, read in bodies:
            try:
                kwargs[field.name] = await read(request)
            except _FieldError as exc:
                loc = [field.loc[0], *exc.path] if exc.path else field.loc
                errors.append({"loc": loc, "msg": exc.message, "type": exc.kind})
        if errors:
            raise ValidationError(errors)
        if sync:
            return await run_sync(executor(), functools.partial(fn, **kwargs))
        return await fn(**kwargs)

    return call


__all__ = ["Field", "analyse", "compile_handler", "is_sync", "run_sync"]
