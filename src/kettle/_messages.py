"""Validation messages in plain words, from msgspec's terse ones.

msgspec reports ``Expected `int | null`, got `str` - at `$.qty```: exact, but written for
the programmer who wrote the type. A client needs to hear what was wrong, where, and what
to send instead. ``problem`` rewrites each of msgspec's message patterns (checked against
msgspec 0.18-0.22) into a phrase such as ``expected an integer, got 'abc'``; ``where``
names the place (``query parameter 'limit'``, ``$.items[0].qty in the JSON body``), and
``invalid`` / ``required`` join the two into the sentence a 422 shows. A message no
pattern matches (one raised by a model's own ``__post_init__``) is kept as it is.

Each phrase is in the request's language when kettle.i18n chose one (Kettle's catalogues
translate them; ``N_`` marks the words translated where they are used).
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.i18n._gettext import ngettext

#: ``got`` when the offending value is not known.
UNKNOWN: Any = object()

_SOURCES = {
    "path": N_("path parameter"),
    "query": N_("query parameter"),
    "header": N_("header"),
    "cookie": N_("cookie"),
    "form": N_("form field"),
    "file": N_("file field"),
}
_TYPES = {
    "int": N_("an integer"),
    "float": N_("a number"),
    "str": N_("text"),
    "bool": N_("true or false"),
    "null": "null",
    "bytes": N_("base64-encoded bytes"),
    "array": N_("a list"),
    "object": N_("an object"),
    "datetime": N_("a date and time (RFC 3339, such as 2024-05-01T09:30:00Z)"),
    "date": N_("a date (YYYY-MM-DD)"),
    "time": N_("a time (HH:MM:SS)"),
    "duration": N_("a duration (ISO 8601, such as P1DT2H)"),
    "uuid": N_("a UUID"),
    "decimal": N_("a decimal number"),
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
_BOUNDS = {">=": N_("at least"), "<=": N_("at most"), ">": N_("more than"), "<": N_("less than")}
# How a value was missing (``required``'s ``how``), as kettle.handlers says it.
_HOW = (N_("was not sent"), N_("is missing"), N_("was blank"))


def _units(unit: str, n: int) -> str:
    """``n`` characters, items, keys or bytes, in words."""
    if unit == "character":
        return ngettext("%(n)d character", "%(n)d characters", n) % {"n": n}
    if unit == "key":
        return ngettext("%(n)d key", "%(n)d keys", n) % {"n": n}
    if unit == "byte":
        return ngettext("%(n)d byte", "%(n)d bytes", n) % {"n": n}
    return ngettext("%(n)d item", "%(n)d items", n) % {"n": n}


_UNITS = {"str": "character", "array": "item", "object": "key", "bytes": "byte"}


def where(source: str, path: Sequence[str | int]) -> str:
    """The place a value came from, as a message names it::

    where("query", ["limit"])                # "query parameter 'limit'"
    where("body", ["items", 0, "qty"])       # "$.items[0].qty in the JSON body"
    where("body", [])                        # "the JSON body"
    """
    if not path:
        return _("the JSON body") if source == "body" else f"the {source}"
    if source != "body":
        return f"{_(_SOURCES[source]) if source in _SOURCES else source} {str(path[0])!r}"
    steps = "".join(f"[{p}]" if isinstance(p, int) or p == "..." else f".{p}" for p in path)
    return _("%(path)s in the JSON body") % {"path": f"${steps}"}


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
        return _("an object")
    if isinstance(value, list | tuple | set | frozenset):
        return _("a list")
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
    word = _("or")
    return f" {word} ".join(_type(n) for n in names)


def _type(name: str) -> str:
    return _(_TYPES[name]) if name in _TYPES else name


def _got(value: Any, fallback: str) -> str:
    return shown(value) if value is not UNKNOWN else _type(fallback)


def _but(got: str) -> str:
    """``, got <what came>``."""
    return _(", got %(got)s") % {"got": got}


def _count(value: Any, unit: str) -> str:
    if value is UNKNOWN or isinstance(value, int | float) or value is None:
        return ""
    try:
        size = len(value)
    except TypeError:
        return ""
    return _but(_units(unit, size))


def _mismatch(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return _("expected %(kind)s") % {"kind": _kind(m["type"], text)} + _but(_got(got, m["got"]))


def _bound(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_part = "" if got is UNKNOWN else _but(shown(got))
    kind, bound = _kind(m["type"], text), _(_BOUNDS[m["op"]])
    return (
        _("expected %(kind)s of %(bound)s %(limit)s")
        % {
            "kind": kind,
            "bound": bound,
            "limit": m["bound"],
        }
        + got_part
    )


def _multiple(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_part = "" if got is UNKNOWN else _but(shown(got))
    kind = _kind(m["type"], text)
    return (
        _("expected %(kind)s that is a multiple of %(n)s") % {"kind": kind, "n": m["n"]} + got_part
    )


def _length(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    unit = _UNITS.get(m["type"], "item")
    how = _(_BOUNDS[m["op"]]) if m["op"] else _("exactly")
    counted = _but(m["got"]) if m["got"] else _count(got, unit)
    size = _units(unit, int(m["n"]))
    kind = _kind(m["type"], text)
    return (
        _("expected %(kind)s of %(bound)s %(limit)s")
        % {
            "kind": kind,
            "bound": how,
            "limit": size,
        }
        + counted
    )


def _pattern(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    pattern = _("expected text matching the pattern %(regex)s") % {"regex": m["regex"]}
    return pattern + _but(_got(got, "str"))


def _timezone(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    what = _("a date and time") if m["type"] == "datetime" else _("a time")
    if m["no"]:
        expected = _("expected %(what)s without a timezone") % {"what": what}
    else:
        expected = _("expected %(what)s with a timezone (such as Z or +02:00)") % {"what": what}
    return expected + _but(_got(got, m["type"]))


def _one_of(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    got_text = m["value"] if got is UNKNOWN else shown(got)
    if not allowed:
        return _("expected one of the allowed values") + _but(got_text)
    values = ", ".join(map(shown, allowed))
    return _("expected one of %(values)s") % {"values": values} + _but(got_text)


def _format(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    kind = _type(_FORMATS[m[0]])
    return _("expected %(kind)s") % {"kind": kind} + _but(_got(got, "str"))


def _out_of_range(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    return _("the number is out of range; send a smaller one")


def _unknown(m: re.Match[str], got: Any, text: bool, allowed: list[Any]) -> str:
    message = _("unknown field %(field)s; remove it or check its spelling")
    return message % {"field": repr(m["field"])}


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
    return _("%(place)s: %(problem)s.") % {
        "place": f"{place[:1].upper()}{place[1:]}",
        "problem": what,
    }


def required(place: str, how: str) -> str:
    """The 422 sentence for a required value that was not given (``how``: its state)::

    required("form field 'choice'", "was blank")
    # "This field is required: form field 'choice' was blank."
    """
    how = _(how) if how in _HOW else how
    return _("This field is required: %(place)s %(how)s.") % {"place": place, "how": how}


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
