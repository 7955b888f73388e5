"""Hostile request values for the route walk (``test_hostile_input.py``), as hypothesis
strategies, and how each one goes on the wire.

A value is either text, which is sent percent-encoded as UTF-8 (lone surrogates too,
encoded as the invalid bytes ``ED A0 80`` that a careless client would send), or
``Raw`` bytes, which go into the path or query string exactly as they are, so that
malformed percent-encoding (``%``, ``%zz``, ``%C3``) and non-ASCII bytes really arrive
malformed::

    value = values().example()
    encoded("\uff11")       # b"%EF%BC%91" (a fullwidth 1)
    encoded(Raw(b"%zz"))    # b"%zz"
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple
from urllib.parse import quote

from hypothesis import strategies as st


class Raw(NamedTuple):
    """Bytes sent as they are, never percent-encoded: ``Raw(b"%C3")``."""

    data: bytes


Value = str | Raw

#: Decimal digits that are not ASCII: int() reads them, [0-9] does not.
UNICODE_DECIMALS = "".join(
    chr(start + n) for start in (0x0660, 0x06F0, 0x0966, 0x09E6, 0xFF10, 0x1D7CE) for n in range(10)
)
#: Characters str.isdigit() calls digits that int() refuses (superscripts, subscripts,
#: circled and parenthesised numbers), and numerals that only isnumeric() takes.
DIGIT_LOOKALIKES = (
    "\u00b2\u00b3\u00b9\u2070\u2074\u2079\u2080\u2089\u2460\u2473\u2474\u2488\u00bc\u2155\u216b"
)
#: Integer spellings at the edges of every integer type and parser.
EDGE_INTEGERS = (
    "0",
    "-0",
    "00",
    "-1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e999",
    "1.5",
    " 1",
    "1 ",
    "+1",
    "0x10",
    "1_000",
    "NaN",
    "inf",
)
#: Malformed or unusual percent-encoding, sent raw.
BAD_PERCENT = (
    b"%",
    b"%%",
    b"%z",
    b"%zz",
    b"%2",
    b"%C3",
    b"%C3%28",
    b"%FF",
    b"%F0%9F",
    b"%ED%A0%80",
    b"%C0%AF",
    b"%00",
    b"%u0041",
    b"%%30",
)
#: Dates and times that no calendar has, or that no date type holds.
BAD_DATES = (
    "9999-12-31",
    "0000-01-01",
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "-0001-01-01",
    "10000-01-01",
    "9999-12-31T23:59:60",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00-23:59",
    "2024-01-01T24:00:00",
    "2024-01-01T00:00:00+99:99",
    "1970-01-01T00:00:00Z",
)


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each as often as its weight says: ``weighted((3, a), (1, b))``.

    (``st.one_of`` picks among its distinct branches evenly; a branch given twice counts
    once.)"""
    chosen = [strategy for weight, strategy in options for _ in range(weight)]
    return st.sampled_from(chosen).flatmap(lambda strategy: strategy)


def _dates() -> st.SearchStrategy[str]:
    years = st.sampled_from([0, 1, 1969, 2024, 9999, 10000, 99999])
    built = st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        years,
        st.integers(0, 13),
        st.integers(0, 32),
    )
    return st.sampled_from(BAD_DATES) | built


def _integers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGE_INTEGERS),
        st.integers(10**18, 10**40).map(str),
        st.integers(-(10**40), -1).map(str),
        st.integers(0, 10**6).map(lambda n: "0" * 30 + str(n)),
    )


def _unicode_digits() -> st.SearchStrategy[str]:
    lookalikes = st.text(alphabet=DIGIT_LOOKALIKES, min_size=1, max_size=4)
    decimals = st.text(alphabet=UNICODE_DECIMALS, min_size=1, max_size=8)
    mixed = st.builds(lambda n, d: f"{n}{d}", st.integers(0, 99), lookalikes | decimals)
    return st.one_of(lookalikes, decimals, mixed)


def _overlong() -> st.SearchStrategy[str]:
    # NOTE: built by repetition: hypothesis' own text() is slow and capped at these sizes.
    return st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(["a", "9", "\u00e9", "\U0001d7d7", "\x00", "%", "/", "<b>", "'\""]),
        st.sampled_from([10_000, 20_001]),
    )


def _controls() -> st.SearchStrategy[str]:
    control = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
    return st.text(alphabet=control | st.sampled_from("a1 "), min_size=1, max_size=12)


def _surrogates() -> st.SearchStrategy[str]:
    lone = st.characters(categories=["Cs"])
    return st.text(alphabet=lone | st.sampled_from("a1"), min_size=1, max_size=4)


@functools.cache
def texts() -> st.SearchStrategy[str]:
    """Hostile text: integers at and past every limit, Unicode digits, impossible dates,
    overlong strings, control characters, lone surrogates and any Unicode at all.

    Numbers of every kind make half of it: most inputs are parsed as numbers somewhere."""
    numbers = st.one_of(_integers(), _unicode_digits())
    others = [_dates(), _overlong(), _controls(), _surrogates(), st.text(max_size=40)]
    return weighted((5, numbers), *((1, other) for other in others), (1, st.just("")))


@functools.cache
def raws() -> st.SearchStrategy[Raw]:
    """Bytes sent as they are: malformed percent-encoding, or any bytes at all."""
    fragments = st.sampled_from(BAD_PERCENT) | st.binary(min_size=1, max_size=16)
    return st.lists(fragments, min_size=1, max_size=3).map(lambda parts: Raw(b"".join(parts)))


@functools.cache
def values() -> st.SearchStrategy[Value]:
    """Any hostile value of a query string or form field (text mostly, raw bytes too).

    Each strategy here is made once (``functools.cache``): hypothesis checks a new
    strategy object on first use, which would cost more than the request itself."""
    return weighted((4, texts()), (1, raws()))


@functools.cache
def path_values() -> st.SearchStrategy[Value]:
    """Hostile path segments: text, or raw bytes that a server would pass on (ASCII)."""
    raw = st.lists(st.sampled_from(BAD_PERCENT), min_size=1, max_size=3)
    return texts() | raw.map(lambda parts: Raw(b"".join(parts)))


@functools.cache
def json_values() -> st.SearchStrategy[Any]:
    """Hostile JSON values: huge numbers, wrong types, lone surrogates, deep nesting."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**40), 10**40),
        st.floats(allow_nan=True, allow_infinity=True),
        texts(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=6,
    )


def encoded(value: Value) -> bytes:
    """``value`` as it goes in a URL or a url-encoded form."""
    if isinstance(value, Raw):
        return value.data
    return quote(value.encode("utf-8", "surrogatepass"), safe="").encode("ascii")


def query_string(pairs: list[tuple[Value, Value]]) -> bytes:
    """``name=value&...`` with every part encoded as ``encoded`` says."""
    return b"&".join(encoded(name) + b"=" + encoded(value) for name, value in pairs)


def json_body(document: Any) -> bytes:
    """``document`` as JSON; lone surrogates become ``\\ud800`` escapes, NaN stays NaN."""
    return json.dumps(document, ensure_ascii=True).encode("ascii")


def shown(data: bytes, limit: int = 160) -> str:
    """Bytes as a failure message shows them: printable, and cut at ``limit``."""
    text = data.decode("latin-1")
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[:limit]}...({len(data)} bytes)"
