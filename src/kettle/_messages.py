"""Validation messages in plain words, from msgspec's terse ones.

msgspec reports ``Expected `int | null`, got `str` - at `$.qty```: exact, but written for
the programmer who wrote the type. A client needs to hear what was wrong, where, and what
to send instead. ``problem`` rewrites each of msgspec's message patterns (checked against
msgspec 0.18-0.22) into a phrase such as ``expected an integer, got 'abc'``; ``where``
names the place (``query parameter 'limit'``, ``$.items[0].qty in the JSON body``), and
``invalid`` / ``required`` join the two into the sentence a 422 shows. A message no
pattern matches (one raised by a model's own ``__post_init__``) is kept as it is.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

#: ``got`` when the offending value is not known.
UNKNOWN: Any = object()

_SOURCES = {
    "path": "path parameter",
    "query": "query parameter",
    "header": "header",
    "cookie": "cookie",
    "form": "form field",
    "file": "file field",
}
_TYPES = {
    "int": "an integer",
    "float": "a number",
    "str": "text",
    "bool": "true or false",
    "null": "null",
    "bytes": "base64-encoded bytes",
    "array": "a list",
    "object": "an object",
    "datetime": "a date and time (RFC 3339, such as 2024-05-01T09:30:00Z)",
    "date": "a date (YYYY-MM-DD)",
    "time": "a time (HH:MM:SS)",
    "duration": "a duration (ISO 8601, such as P1DT2H)",
    "uuid": "a UUID",
    "decimal": "a decimal number",
}
_FORMATS = {
    "Invalid RFC3339 encoded datetime": "datetime",
    "Invalid RFC3339 encoded date": "date",
    "Invalid RFC3339 encoded time": "time",
    "Invalid ISO8601 duration": "duration",
    "Invalid UUID": "uuid",
    "Invalid decimal string": "decimal",
    "Invalid base64 encoded string": "bytes",
}
_BOUNDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_UNITS = {"str": "character", "array": "item", "object": "key", "bytes": "byte"}


def where(source: str, path: Sequence[str | int]) -> str:
    """The place a value came from, as a message names it::

    where("query", ["limit"])                # "query parameter 'limit'"
    where("body", ["items", 0, "qty"])       # "$.items[0].qty in the JSON body"
    where("body", [])                        # "the JSON body"
    """
    if not path:
        return "the JSON body" if source == "body" else f"the {source}"
    if source != "body":
        return f"{_SOURCES.get(source, source)} {str(path[0])!r}"
    steps = "".join(f"[{p}]" if isinstance(p, int) or p == "..." else f".{p}" for p in path)
    return f"${steps} in the JSON body"


def shown(value: Any) -> str:
    """A client's value as a message quotes it: text quoted (and cut), else its kind::

    shown("abc")   # "'abc'"
    shown([1])     # "a list"
    """
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    return type(value).__name__


def choices(tp: Any) -> list[Any]:
    """The values an enum or ``Literal`` type (possibly ``| None``) allows, else ``[]``::

    choices(Literal["asc", "desc"] | None)   # ["asc", "desc"]
    """
    if typing.get_origin(tp) is typing.Annotated:
        return choices(typing.get_args(tp)[0])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [member.value for member in tp]
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return list(typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return [value for arg in typing.get_args(tp) for value in choices(arg)]
    return []


def value_at(value: Any, path: Sequence[str | int]) -> Any:
    """The part of ``value`` (decoded JSON) at ``path``, or ``UNKNOWN``::

    value_at({"items": [{"qty": "x"}]}, ["items", 0, "qty"])   # "x"
    """
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return UNKNOWN
    return value


def type_at(tp: Any, path: Sequence[str | int]) -> Any:
    """The type ``tp`` expects at ``path`` (to list an enum's values), or ``Any``::

    type_at(Order, ["items", 0, "qty"])   # int
    """
    for step in path:
        while True:
            origin = typing.get_origin(tp)
            if origin is typing.Annotated:
                tp = typing.get_args(tp)[0]
            elif origin in (typing.Union, types.UnionType):
                left = [a for a in typing.get_args(tp) if a is not type(None)]
                if len(left) != 1:
                    return Any
                tp = left[0]
            else:
                break
        args = typing.get_args(tp)
        if isinstance(step, int) and origin in (list, set, frozenset, tuple) and args:
            fixed = origin is tuple and Ellipsis not in args
            tp = (args[step] if step < len(args) else Any) if fixed else args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        elif isinstance(step, str) and isinstance(tp, type):
            try:
                tp = typing.get_type_hints(tp, include_extras=True)[step]
            except (KeyError, TypeError, NameError):
                return Any
        else:
            return Any
    return tp


def _kind(name: str, text: bool) -> str:
    """``int | null`` -> ``an integer or null``; request text drops ``null`` (a blank is None)."""
    names = [n for n in name.split(" | ") if not (text and n == "null")] or ["null"]
    return " or ".join(_TYPES.get(n, n) for n in names)


def _got(value: Any, fallback: str) -> str:
    return shown(value) if value is not UNKNOWN else _TYPES.get(fallback, fallback)


def _count(value: Any, unit: str) -> str:
    if value is UNKNOWN or isinstance(value, int | float) or value is None:
        return ""
    try:
        size = len(value)
    except TypeError:
        return ""
    return f", got {size} {unit}{'' if size == 1 else 's'}"


def _mismatch(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return f"expected {_kind(m['type'], text)}, got {_got(got, m['got'])}"


def _bound(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_part = "" if got is UNKNOWN else f", got {shown(got)}"
    return f"expected {_kind(m['type'], text)} of {_BOUNDS[m['op']]} {m['bound']}{got_part}"


def _multiple(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_part = "" if got is UNKNOWN else f", got {shown(got)}"
    return f"expected {_kind(m['type'], text)} that is a multiple of {m['n']}{got_part}"


def _length(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    unit = _UNITS.get(m["type"], "item")
    n = int(m["n"])
    plural = "" if n == 1 else "s"
    how = _BOUNDS[m["op"]] if m["op"] else "exactly"
    counted = f", got {m['got']}" if m["got"] else _count(got, unit)
    return f"expected {_kind(m['type'], text)} of {how} {n} {unit}{plural}{counted}"


def _pattern(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return f"expected text matching the pattern {m['regex']}, got {_got(got, 'str')}"


def _timezone(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    what = "a date and time" if m["type"] == "datetime" else "a time"
    if m["no"]:
        return f"expected {what} without a timezone, got {_got(got, m['type'])}"
    return f"expected {what} with a timezone (such as Z or +02:00), got {_got(got, m['type'])}"


def _one_of(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_text = m["value"] if got is UNKNOWN else shown(got)
    if not allowed:
        return f"expected one of the allowed values, got {got_text}"
    return f"expected one of {', '.join(map(shown, allowed))}, got {got_text}"


def _format(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    name = _FORMATS[m[0]]
    return f"expected {_TYPES[name]}, got {_got(got, 'str')}"


def _out_of_range(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return "the number is out of range; send a smaller one"


def _unknown(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return f"unknown field {m['field']!r}; remove it or check its spelling"


Rewrite = Callable[[re.Match[str], Any, bool, list[Any]], str]
_PATTERNS: list[tuple[re.Pattern[str], Rewrite]] = [
    (re.compile(r"Expected `(?P<type>[^`]+)`, got `(?P<got>[^`]+)`"), _mismatch),
    (
        re.compile(
            r"Expected `(?P<type>[^`]+)` of length (?P<op>>=|<=)? ?(?P<n>\d+)"
            r"(?:, got (?P<got>\d+))?"
        ),
        _length,
    ),
    (re.compile(r"Expected `(?P<type>[^`]+)` (?P<op>>=|<=|>|<) (?P<bound>\S+)"), _bound),
    (re.compile(r"Expected `(?P<type>[^`]+)` that's a multiple of (?P<n>\S+)"), _multiple),
    (re.compile(r"Expected `str` matching regex (?P<regex>.+)"), _pattern),
    (
        re.compile(
            r"Expected `(?P<type>datetime|time)` with (?P<no>no )?(?:a )?timezone "
            r"component"
        ),
        _timezone,
    ),
    (re.compile(r"Invalid (?:enum )?value (?P<value>.+)"), _one_of),
    (re.compile("|".join(map(re.escape, _FORMATS))), _format),
    (re.compile(r"Number out of range"), _out_of_range),
    (re.compile(r"Object contains unknown field `(?P<field>[^`]+)`"), _unknown),
]

_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_AT = re.compile(r" - at `(?P<at>[^`]*)`$")


def split(message: str) -> tuple[str, tuple[str | int, ...], str | None]:
    """msgspec's message, the path it names and the missing field it reports (if any)::

    split("Object missing required field `qty` - at `$.items[0]`")
    # ("Object missing required field `qty`", ("items", 0), "qty")
    """
    at = _AT.search(message)
    path: list[str | int] = []
    if at:
        message = message[: at.start()]
        for piece in at["at"].removeprefix("$").replace("[", ".").replace("]", "").split("."):
            if piece:
                path.append(int(piece) if piece.isdigit() else piece)
    missing = _MISSING.fullmatch(message)
    return message, tuple(path), missing["field"] if missing else None


def problem(
    message: str, got: Any = UNKNOWN, *, text: bool = False, allowed: Sequence[Any] = ()
) -> str:
    """msgspec's message (without its `` - at `...` `` part) as a plain phrase::

    problem("Expected `int | null`, got `str`", "abc", text=True)
    # "expected an integer, got 'abc'"

    ``got`` is the offending value when known; ``text`` says it came from request text
    (a query, header, cookie or form field), where blank already means None; ``allowed``
    lists the values an enum or Literal takes.
    """
    for pattern, rewrite in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return rewrite(match, got, text, list(allowed))
    return message.rstrip(".")


def invalid(place: str, what: str) -> str:
    """The 422 sentence for a bad value::

    invalid("query parameter 'limit'", "expected an integer, got 'abc'")
    # "Query parameter 'limit': expected an integer, got 'abc'."
    """
    return f"{place[:1].upper()}{place[1:]}: {what}."


def required(place: str, how: str) -> str:
    """The 422 sentence for a required value that was not given (``how``: its state)::

    required("form field 'choice'", "was blank")
    # "This field is required: form field 'choice' was blank."
    """
    return f"This field is required: {place} {how}."


__all__ = [
    "UNKNOWN",
    "choices",
    "invalid",
    "problem",
    "required",
    "shown",
    "split",
    "type_at",
    "value_at",
    "where",
]
