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
import types
import typing
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Annotated, Any, NamedTuple

from kettle._integers import parse_int
from kettle._messages import (
    choices,
    invalid,
    problem,
    required,
    shown,
    split,
    type_at,
    value_at,
)
from kettle._messages import where as place_of
from kettle.exceptions import ConfigurationError, HTTPException, ValidationError
from kettle.i18n._gettext import gettext
from kettle.params import Param, Source
from kettle.requests import Request, decode_json

Handler = Callable[..., Any]
Call = Callable[[Request], Awaitable[Any]]
_EMPTY = inspect.Parameter.empty


class _FieldError(Exception):
    """One bad field: ``message`` says what was wrong (``_error`` adds where); a ``missing``
    one says ``how`` (``was not sent``, ``was blank``, ``is missing``)."""

    def __init__(
        self,
        message: str,
        kind: str = "invalid",
        path: tuple[str | int, ...] = (),
        how: str = "was not sent",
    ):
        self.message = message
        self.kind = kind
        self.path = path
        self.how = how


class Field(NamedTuple):
    """One handler parameter: where it comes from and how its text becomes its type."""

    #: The parameter's name in the handler's signature: ``"page"``.
    name: str
    #: The part of the request it is read from (``"query"``, ``"path"``, ...); None when
    #: the parameter receives the ``Request`` itself.
    source: Source | None
    #: The name it has in the request: the ``Param`` alias, else the parameter's name
    #: (with ``_`` as ``-`` for a header: ``user_agent`` reads ``user-agent``).
    key: str
    #: The declared type the text is converted to (``int``, ``list[str]``, a Struct), with
    #: any ``Annotated`` marker taken off.
    annotation: Any
    #: The default from the signature, used when the request lacks the value;
    #: ``inspect.Parameter.empty`` when it is required (a missing value is a 422).
    default: Any
    #: True when the type is a collection (``list[str]``): it receives every value of a
    #: repeated key (``?tag=a&tag=b`` gives ``["a", "b"]``).
    many: bool = False

    @property
    def loc(self) -> list[str | int]:
        """Where the value comes from, as a 422 error names it: ``["query", "page"]``."""
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
    """``X | None`` -> ``X``, without ``Annotated[...]`` around either; else unchanged."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
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
            marker = next((a for a in args[1:] if isinstance(a, Param)), None)
            # Constraints (``msgspec.Meta(ge=1)``) stay on the type; only the marker goes.
            others = tuple(a for a in args[1:] if not isinstance(a, Param))
            tp = Annotated[(args[0], *others)] if others else args[0]
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
        if source not in (None, "file"):
            _check_type(tp, f"{where}: parameter {p.name!r}")
        fields.append(Field(p.name, source, key, tp, p.default, _is_many(tp)))
    missing = set(path_names) - {f.name for f in fields if f.source == "path"}
    if missing:
        raise ConfigurationError(
            f"{where} does not accept the path parameter(s) {', '.join(sorted(missing))}; "
            "add them to its signature."
        )
    return fields


def _check_type(tp: Any, where: str) -> None:
    """Refuse at start-up a type msgspec cannot check (``Meta(ge=0)`` on a ``Decimal``,
    ``Meta(pattern=...)`` on an ``int``), which would otherwise fail every request."""
    import msgspec

    try:
        msgspec.inspect.type_info(tp)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{where} has a type Kettle cannot validate: {exc}. Numeric constraints (ge, le, "
            "gt, lt, multiple_of) apply to int and float; min_length, max_length and pattern "
            "to str, bytes and collections."
        ) from None


_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})


def _to_bool(value: Any) -> bool:
    # Browsers send "on" for a ticked checkbox; people type yes/no in query strings.
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _FieldError(f"expected a boolean (true/false, on/off, 1/0), got {shown(value)}")


def _msgspec_error(exc: Exception, value: Any, tp: Any, *, text: bool) -> _FieldError:
    """msgspec's error for ``value`` (request text or decoded JSON) as a plain-words one."""
    message, path, missing = split(str(exc))
    if missing is not None:
        return _FieldError("", "missing", (*path, missing), how="is missing")
    allowed = choices(type_at(tp, path))
    return _FieldError(
        problem(message, value_at(value, path), text=text, allowed=allowed), path=path
    )


def _text_converter(tp: Any) -> Callable[[Any], Any]:
    # NOTE: msgspec is imported when handlers are compiled (start-up), not with Kettle.
    import msgspec

    if tp is str or tp is Any:
        return lambda value: value
    if _unwrap_optional(tp) is bool:
        return _to_bool
    shape = _int_shape(tp)
    if shape is not None:
        return _int_converter(tp, many=shape == "many")

    def convert(value: Any) -> Any:
        try:
            return msgspec.convert(value, tp, strict=False)
        except msgspec.ValidationError as exc:
            raise _msgspec_error(exc, value, tp, text=True) from None

    return convert


def _base(tp: Any) -> Any:
    """``tp`` without ``| None`` and ``Annotated[...]`` (its constraints stay on ``tp``)."""
    tp = _unwrap_optional(tp)
    return typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated else tp


def _int_shape(tp: Any) -> str | None:
    """``"one"`` for an int type (``int``, ``int | None``, ``Annotated[int, Meta(ge=1)]``),
    ``"many"`` for a list, tuple or set of them, else None."""
    base = _base(tp)
    if base is int:
        return "one"
    args = [a for a in typing.get_args(base) if a is not Ellipsis]
    many = typing.get_origin(base) in (list, tuple, set, frozenset)
    if many and args and all(_base(a) is int for a in args):
        return "many"
    return None


def _int_converter(tp: Any, *, many: bool) -> Callable[[Any], Any]:
    """Request text as an int (or ints): ASCII digits only, then ``tp``'s constraints.

    ``int()`` would take ``"٣"``, ``" 7"`` and ``"1_0"``; msgspec takes ``"1e3"`` but not
    ``"007"``. Both are refused or read here the one way ``parse_int`` reads them.
    """
    import msgspec

    def parse(text: Any, at: tuple[str | int, ...] = ()) -> int:
        try:
            return parse_int(text) if isinstance(text, str) else int(text)
        except (TypeError, ValueError):
            message = gettext("expected a whole number (ASCII digits 0-9), got %(got)s")
            raise _FieldError(message % {"got": shown(text)}, path=at) from None

    def convert(value: Any) -> Any:
        number: Any = [parse(text, (i,)) for i, text in enumerate(value)] if many else parse(value)
        if tp is int:
            return number
        try:
            return msgspec.convert(number, tp)
        except msgspec.ValidationError as exc:
            raise _msgspec_error(exc, number, tp, text=True) from None

    return convert


def _admits_text(tp: Any) -> bool:
    """Whether ``tp`` takes text as it is (``str``, ``str | None``, ``Any``): a blank stays ""."""
    tp = _base(tp)
    if tp is str or tp is Any:
        return True
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_admits_text(arg) for arg in typing.get_args(tp))
    return False


def _is_optional(tp: Any) -> bool:
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and (
        type(None) in typing.get_args(tp)
    )


def _blanks(tp: Any, many: bool) -> bool:
    """Whether a blank value ("", what a browser sends for an empty input) means "not given".

    As in Django's forms: blank text stays "" for text fields; for any other type it is
    None when the type allows None, else the default, else "This field is required".
    """
    if many:
        args = typing.get_args(_base(tp))
        return not (args and _admits_text(args[0]))
    return not _admits_text(tp)


def _missing(field: Field) -> Callable[[str], Any]:
    """What a field that was not given (``how``: ``was not sent``, ``was blank``) becomes."""
    default, required = field.default, field.default is _EMPTY
    none = _is_optional(field.annotation)

    def missing(how: str) -> Any:
        if how == "was blank" and none:
            return None
        if required:
            raise _FieldError("", "missing", how=how)
        return default

    return missing


def _extractor(field: Field) -> Callable[[Request], Any]:
    """A sync function reading one non-body field from the request."""
    convert = _text_converter(field.annotation)
    key, missing = field.key, _missing(field)
    blanks = _blanks(field.annotation, field.many)

    def given(value: str | None) -> Any:
        if value is None:
            return missing("was not sent")
        if blanks and value == "":
            return missing("was blank")
        return convert(value)

    if field.source is None:
        return lambda request: request
    if field.source == "path":
        return lambda request: convert(request.path_params[key])
    if field.source == "query":
        if field.many:

            def many(request: Request) -> Any:
                values = request.query.getlist(key)
                if not values:
                    return missing("was not sent")
                texts = [v for v in values if v != ""] if blanks else values
                return convert(texts) if texts else missing("was blank")

            return many

        return lambda request: given(request.query.get(key))
    if field.source == "header":
        if field.many:

            def items(request: Request) -> Any:
                # A list header may come as several lines or as one comma-separated line,
                # and empty items are ignored (RFC 9110, 5.6.1): ``gzip, , br`` is two.
                lines = request.headers.getlist(key)
                if not lines:
                    return missing("was not sent")
                texts = [t for line in lines for item in line.split(",") if (t := item.strip())]
                return convert(texts) if texts else missing("was blank")

            return items

        return lambda request: given(request.headers.get(key))
    return lambda request: given(request.cookies.get(key))


def _body_reader(field: Field) -> Callable[[Request], Awaitable[Any]]:
    """An async function reading the JSON body, a form field, the whole form or a file."""
    import msgspec

    tp, key, missing = field.annotation, field.key, _missing(field)

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
                return missing("was not sent")
            try:
                return decode_json(raw, tp)
            except msgspec.ValidationError as exc:
                # NOTE: the typed decode stops at the first wrong type; the rest of the body
                # may still be malformed, which is the client's 400, not a 500.
                raise _msgspec_error(exc, decode_json(raw), tp, text=False) from None

        return body

    if field.source == "form" and _is_model(tp):
        return _whole_form(tp)

    convert = _text_converter(tp)
    many, is_file = field.many, field.source == "file"
    blanks = _blanks(tp, many)

    async def form_field(request: Request) -> Any:
        from kettle.forms import UploadFile

        form = await request.form()
        values = form.getlist(key)
        if is_file:
            values = [v for v in values if isinstance(v, UploadFile)]
            if not values:
                return missing("was not sent")
            return values if many else values[-1]
        texts = [v for v in values if isinstance(v, str)]
        if not texts:
            return missing("was not sent")
        if blanks:
            texts = [v for v in texts if v != ""] if many else texts[-1:]
            if not texts or texts[-1] == "":
                return missing("was blank")
        return convert(texts) if many else convert(texts[-1])

    return form_field


def _whole_form(tp: Any) -> Callable[[Request], Awaitable[Any]]:
    """Read the whole form into a Struct, dataclass or TypedDict; blanks as for one field."""
    import msgspec

    model = _unwrap_optional(tp)
    # Fields typed as lists collect every value of a repeated key (checkboxes, tags).
    hints = typing.get_type_hints(model, include_extras=True)
    lists = {name for name, hint in hints.items() if _is_many(hint)}
    bools = {name for name, hint in hints.items() if _unwrap_optional(hint) is bool}
    blanks = {name for name, hint in hints.items() if _blanks(hint, name in lists)}
    nones = {name for name, hint in hints.items() if _is_optional(hint)}

    async def whole_form(request: Request) -> Any:
        form = await request.form()
        values: dict[str, Any] = {}
        blank: set[str] = set()
        for key in form:
            texts = [v for v in form.getlist(key) if isinstance(v, str)]
            if not texts:
                continue
            if key in blanks:
                texts = [v for v in texts if v != ""] if key in lists else texts[-1:]
                if not texts or texts[-1] == "":
                    blank.add(key)
                    if key in nones:
                        values[key] = None
                    continue
            values[key] = texts if key in lists else texts[-1]
        for key in bools & values.keys():
            if values[key] is not None:
                try:
                    values[key] = _to_bool(values[key])
                except _FieldError as exc:
                    raise _FieldError(exc.message, path=(key,)) from None
        try:
            return msgspec.convert(values, model, strict=False)
        except msgspec.ValidationError as exc:
            error = _msgspec_error(exc, values, model, text=True)
            if error.kind == "missing" and error.path[-1:] and error.path[-1] in blank:
                error.how = "was blank"
            elif error.kind == "missing":
                error.how = "was not sent"
            raise error from None

    return whole_form


def _error(field: Field, exc: _FieldError) -> dict[str, Any]:
    """The 422 entry for one bad field: where (``loc``), what (``msg``) and ``type``."""
    # The JSON body and a whole form report paths inside them; other fields are one value.
    whole = exc.path and (field.source == "body" or _is_model(field.annotation))
    source = field.loc[0]
    loc = [source, *exc.path] if whole else field.loc
    place = place_of(str(source), exc.path if field.source == "body" else loc[1:2])
    if exc.kind == "missing":
        return {"loc": loc, "msg": required(place, exc.how), "type": "missing"}
    return {"loc": loc, "msg": invalid(place, exc.message), "type": exc.kind}


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
                errors.append(_error(field, exc))
        for field, read in bodies:
            try:
                kwargs[field.name] = await read(request)
            except _FieldError as exc:
                errors.append(_error(field, exc))
        if errors:
            raise ValidationError(errors)
        if sync:
            return await run_sync(executor(), functools.partial(fn, **kwargs))
        return await fn(**kwargs)

    return call


__all__ = ["Field", "analyse", "compile_handler", "is_sync", "run_sync"]
