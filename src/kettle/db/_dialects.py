"""SQL pieces that read the same on every engine but must be written differently per engine.

Lookups promise one meaning everywhere: ``exact``, ``contains``, ``startswith`` and
``endswith`` are case-sensitive, their ``i*`` twins case-insensitive, and date parts are
taken in UTC. The engines disagree underneath:

* MariaDB compares strings with the column's collation (``utf8mb4_general_ci``:
  case- *and* accent-insensitive, trailing spaces ignored). Comparisons that must be
  exact go through ``BINARY``; ``exact`` keeps a plain ``=`` beside it so an index on the
  column still narrows the rows.
* SQLite's ``LIKE`` is case-sensitive only because ``Database`` sets
  ``PRAGMA case_sensitive_like=ON``. Its built-in ``lower()`` folds ASCII letters only;
  ``Database`` registers a Unicode-aware ``lower`` on every SQLite connection, so
  ``icontains="ünï"`` finds ``"Ünïcode"`` there as on PostgreSQL and MariaDB.
* PostgreSQL's ``EXTRACT`` and ``CAST(... AS DATE)`` on ``timestamptz`` use the session
  time zone; Kettle converts to UTC first, as SQLite and MariaDB store UTC already.
* PostgreSQL sorts NULL above every value, SQLite and MariaDB below; ``order_by`` asks
  PostgreSQL for the latter (``NULLS FIRST`` ascending, ``NULLS LAST`` descending).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

#: The escape character of the LIKE patterns Kettle builds.
ESCAPE = "/"


class Binary(FunctionElement[Any]):
    """A string compared byte for byte (``BINARY x`` on MariaDB, ``x`` elsewhere)."""

    inherit_cache = True
    type = sa.String()


@compiles(Binary)
def _binary_default(element: Binary, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(Binary, "mysql")
def _binary_mysql(element: Binary, compiler: SQLCompiler, **kw: Any) -> str:
    return f"BINARY {compiler.process(element.clauses, **kw)}"


class StrictEqual(FunctionElement[Any]):
    """``left = right``, case- and accent-sensitive on every engine."""

    inherit_cache = True
    type = sa.Boolean()


@compiles(StrictEqual)
def _strict_default(element: StrictEqual, compiler: SQLCompiler, **kw: Any) -> str:
    left, right = element.clauses.clauses
    return compiler.process(left == right, **kw)


@compiles(StrictEqual, "mysql")
def _strict_mysql(element: StrictEqual, compiler: SQLCompiler, **kw: Any) -> str:
    left, right = element.clauses.clauses
    # NOTE: the plain "=" lets MariaDB use an index on the column; BINARY then drops the
    # rows that only matched through the collation ("ANN" for "ann", "é" for "e").
    return compiler.process(sa.and_(left == right, Binary(left) == right), **kw)


def strict_equal(expr: Any, value: Any) -> Any:
    """``expr = value`` that never matches through a case-insensitive collation."""
    return StrictEqual(expr, value)


def like(expr: Any, pattern: str | Any, *, case_sensitive: bool) -> Any:
    """``expr LIKE pattern ESCAPE '/'``; the pattern is a bound parameter."""
    bound = sa.literal(pattern, sa.String()) if isinstance(pattern, str) else pattern
    if case_sensitive:
        return Binary(expr).like(bound, escape=ESCAPE)
    return Binary(sa.func.lower(expr)).like(sa.func.lower(bound), escape=ESCAPE)


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped, to be matched literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def iexact(expr: Any, value: Any) -> Any:
    """Case-insensitive equality (Unicode-aware except on SQLite, see the module docs)."""
    return Binary(sa.func.lower(expr)) == sa.func.lower(value)


# --- ordering ----------------------------------------------------------------------------------
class _SortKey(FunctionElement[Any]):
    """``expr ASC`` or ``expr DESC``, NULLs lowest on every engine."""

    inherit_cache = True

    def __init__(self, expr: Any, descending: bool) -> None:
        self.descending = descending
        super().__init__(expr)

    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("descending", sa.sql.visitors.InternalTraversal.dp_boolean),
    ]


@compiles(_SortKey)
def _sort_default(element: _SortKey, compiler: SQLCompiler, **kw: Any) -> str:
    (expr,) = element.clauses.clauses
    return compiler.process(expr.desc() if element.descending else expr.asc(), **kw)


@compiles(_SortKey, "postgresql")
def _sort_postgresql(element: _SortKey, compiler: SQLCompiler, **kw: Any) -> str:
    (expr,) = element.clauses.clauses
    ordered = expr.desc().nulls_last() if element.descending else expr.asc().nulls_first()
    return compiler.process(ordered, **kw)


def sort_key(expr: Any, *, descending: bool, joined: bool = False) -> Any:
    """An ORDER BY term for ``expr`` that sorts NULLs the same way on every engine.

    ``joined``: ``expr`` is reached through an outer join, so it may be NULL whatever its
    column says.
    """
    column = getattr(expr, "expression", expr)
    if not joined and getattr(column, "nullable", True) is False:
        # PERF: a NOT NULL column needs no NULLS FIRST/LAST, and without one PostgreSQL can
        # walk a plain index (the primary key, Meta.indexes) instead of sorting the table.
        return expr.desc() if descending else expr.asc()
    return _SortKey(expr, descending)


# --- dates --------------------------------------------------------------------------------------
class _UTC(FunctionElement[Any]):
    """A ``timestamptz`` as the UTC wall-clock time (PostgreSQL); a no-op elsewhere."""

    inherit_cache = True
    type = sa.DateTime()


@compiles(_UTC)
def _utc_default(element: _UTC, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_UTC, "postgresql")
def _utc_postgresql(element: _UTC, compiler: SQLCompiler, **kw: Any) -> str:
    return f"timezone('UTC', {compiler.process(element.clauses, **kw)})"


class _Date(FunctionElement[Any]):
    """The calendar date of a timestamp."""

    inherit_cache = True
    type = sa.Date()


@compiles(_Date)
def _date_default(element: _Date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(_Date, "sqlite")
def _date_sqlite(element: _Date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


class _Part(FunctionElement[Any]):
    """A whole-number date part (``year`` ... ``second``); ``field`` is a fixed keyword."""

    inherit_cache = True
    type = sa.Integer()

    def __init__(self, field: str, expr: Any) -> None:
        self.field = field
        super().__init__(expr)

    # ``field`` changes the SQL, so it is part of the cache key.
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("field", sa.sql.visitors.InternalTraversal.dp_string),
    ]


@compiles(_Part)
def _part_default(element: _Part, compiler: SQLCompiler, **kw: Any) -> str:
    (expr,) = element.clauses.clauses
    return compiler.process(sa.extract(element.field, expr), **kw)


@compiles(_Part, "postgresql")
def _part_postgresql(element: _Part, compiler: SQLCompiler, **kw: Any) -> str:
    (expr,) = element.clauses.clauses
    # EXTRACT gives numeric (seconds with a fraction); lookups compare whole numbers.
    extract = compiler.process(sa.extract(element.field, expr), **kw)
    return f"CAST(FLOOR({extract}) AS INTEGER)"


def _is_aware(expr: Any) -> bool:
    kind = getattr(expr, "type", None)
    impl = getattr(kind, "impl", kind)
    return isinstance(impl, sa.DateTime) and bool(impl.timezone)


def date_part(expr: Any, name: str) -> Any:
    """``year``, ``month``, ``day``, ``hour``, ``minute``, ``second`` or ``date`` of
    ``expr``, in UTC for timezone-aware columns."""
    source = _UTC(expr) if _is_aware(expr) else expr
    if name == "date":
        return _Date(source)
    return _Part(name, source)


__all__ = [
    "ESCAPE",
    "Binary",
    "date_part",
    "escape_like",
    "iexact",
    "like",
    "sort_key",
    "strict_equal",
]
