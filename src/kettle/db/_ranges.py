"""Comparisons of an integer column with a Python int its SQL type cannot hold.

Such a value never reaches the driver, where it would be an error (``OverflowError`` on
SQLite, "value out of int64 range" on asyncpg, "bigint out of range" on psycopg): the
comparison is resolved as the range implies. ``=`` and ``in`` match nothing; ``<`` and
``<=`` a value above the range match every non-NULL row and ``>``/``>=`` none (the other
way round below the range); ``exclude`` then keeps what it would keep for any value.

The range depends on the engine: SQLite keeps every integer in 64 bits whatever the
declared type, PostgreSQL and MariaDB use the declared type (or its ``with_variant`` for
that engine): ``SMALLINT`` 16 bits, ``INTEGER`` 32, ``BIGINT`` 64, and MariaDB's
``TINYINT`` (8), ``MEDIUMINT`` (24) and ``UNSIGNED`` types. So a value is resolved

* when the query is built, if it fits on every engine (the plain comparison, as before)
  or on none (it is beyond 64 bits);
* when the statement is compiled for an engine otherwise (``INTEGER`` and 2**31 on
  SQLite or PostgreSQL). The value's size, not the value, is part of SQLAlchemy's cache
  key, so a statement compiled for one size is never reused for another.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

#: The widest integers any engine holds (SQLite's, and BIGINT's).
SIGNED_64 = (-(2**63), 2**63 - 1)
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_BITS = {"TINYINT": 8, "MEDIUMINT": 24}


def integer_type(expr: Any) -> Any:
    """The SQL type of ``expr`` when it is an integer type, else None::

    integer_type(Article.score)   # Integer()
    """
    if hasattr(expr, "expression"):  # a model attribute: its column
        expr = expr.expression
    kind = getattr(expr, "type", None)
    impl = getattr(kind, "impl", kind)  # a TypeDecorator's underlying type
    return kind if isinstance(impl, sa.Integer) else None


def type_range(kind: Any) -> tuple[int, int]:
    """The values one integer SQL type holds (no engine variant applied)::

    type_range(sa.SmallInteger())   # (-32768, 32767)
    """
    impl = getattr(kind, "impl", kind)
    if isinstance(impl, sa.BigInteger):
        bits = 64
    elif isinstance(impl, sa.SmallInteger):
        bits = 16
    else:
        bits = _BITS.get(type(impl).__name__.upper(), 32)
    if getattr(impl, "unsigned", False):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def engine_range(kind: Any, engine: str) -> tuple[int, int]:
    """The values an integer column of type ``kind`` holds on ``engine`` (a dialect name)::

    engine_range(sa.Integer(), "sqlite")       # 64 bits: SQLite ignores the declared size
    engine_range(sa.Integer(), "postgresql")   # (-2147483648, 2147483647)
    """
    if engine == "sqlite":
        return SIGNED_64
    variants = getattr(kind, "_variant_mapping", None) or {}
    return type_range(variants.get(engine, kind))


def common_range(kind: Any) -> tuple[int, int]:
    """The values ``kind`` holds on every engine (with each of its variants)::

    common_range(sa.BigInteger().with_variant(sa.Integer(), "sqlite"))   # 64 bits
    """
    variants = getattr(kind, "_variant_mapping", None) or {}
    low, high = SIGNED_64
    for engine, variant in {"": kind, **variants}.items():
        if engine != "sqlite":
            v_low, v_high = type_range(variant)
            low, high = max(low, v_low), min(high, v_high)
    return low, high


def _size(value: int) -> tuple[bool, int]:
    """What decides whether ``value`` fits a power-of-two range: its sign and the bits of
    its magnitude (``-2**31`` needs 31, as ``2**31 - 1`` does)."""
    negative = value < 0
    return negative, (~value if negative else value).bit_length()


def _fits(size: tuple[bool, int], bounds: tuple[int, int]) -> bool:
    negative, bits = size
    low, high = bounds
    if negative:
        return low < 0 and bits <= (~low).bit_length()
    return bits <= high.bit_length()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _IfFits(FunctionElement[Any]):
    """``clause`` on the engines where a value of ``size`` fits ``kind``, ``otherwise``
    elsewhere (chosen when the statement is compiled for an engine)."""

    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, clause: Any, otherwise: Any, kind: Any, size: tuple[bool, int]) -> None:
        self.kind = kind
        self.negative, self.bits = size
        super().__init__(clause, otherwise)

    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("kind", InternalTraversal.dp_type),
        ("negative", InternalTraversal.dp_boolean),
        ("bits", InternalTraversal.dp_plain_obj),
    ]


@compiles(_IfFits)
def _compile_if_fits(element: _IfFits, compiler: SQLCompiler, **kw: Any) -> str:
    clause, otherwise = element.clauses.clauses
    bounds = engine_range(element.kind, compiler.dialect.name)
    chosen = clause if _fits((element.negative, element.bits), bounds) else otherwise
    return compiler.process(chosen, **kw)


def _otherwise(expr: Any, lookup: str, value: int) -> Any:
    """What ``expr <lookup> value`` means when ``value`` is outside the column's range."""
    above = value > 0
    if (lookup in ("lt", "lte") and above) or (lookup in ("gt", "gte") and not above):
        return expr.is_not(None)  # every stored value is on the right side
    return sa.false()


def compare(expr: Any, lookup: str, value: Any) -> Any:
    """``expr <lookup> value`` for ``exact``, ``gt``, ``gte``, ``lt`` and ``lte`` when
    ``value`` is an int outside the range ``expr``'s type holds on some engine; None when
    the plain comparison is safe everywhere (not an integer column, or a value in range)::

        compare(Article.id, "exact", 10**20)   # false(): no engine holds such an id
    """
    kind = integer_type(expr) if _is_int(value) else None
    if kind is None:
        return None
    low, high = common_range(kind)
    if low <= value <= high:
        return None
    otherwise = _otherwise(expr, lookup, value)
    size = _size(value)
    if not _fits(size, (-(2**63), 2**64 - 1)):  # beyond every engine's widest type
        return otherwise
    return _IfFits(_OPERATORS[lookup](expr, value), otherwise, kind, size)


def compare_in(expr: Any, values: Iterable[Any]) -> Any:
    """``expr IN (values)`` where the ints the column cannot hold are left out (on the
    engines that cannot hold them); an empty list matches nothing::

        compare_in(Article.id, [7, 10**20])   # article.id IN (7)
    """
    values = list(values)
    kind = integer_type(expr)
    if kind is None or not any(_is_int(v) for v in values):
        return expr.in_(values)
    low, high = common_range(kind)
    plain: list[Any] = []
    by_size: dict[tuple[bool, int], list[int]] = {}
    for value in values:
        if not _is_int(value) or low <= value <= high:
            plain.append(value)
        elif _fits(size := _size(value), (-(2**63), 2**64 - 1)):
            by_size.setdefault(size, []).append(value)
    if not by_size:
        return expr.in_(plain) if plain else sa.false()
    parts = [expr.in_(plain)] if plain else []
    parts += [_IfFits(expr.in_(group), sa.false(), kind, size) for size, group in by_size.items()]
    return sa.or_(*parts)


__all__ = ["SIGNED_64", "common_range", "compare", "compare_in", "engine_range", "integer_type"]
