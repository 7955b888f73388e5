"""Django-style query expressions compiled to SQLAlchemy: ``__`` lookups, ``Q`` and ``F``.

Filters across relations become ``EXISTS`` subqueries (``has``/``any``), so they never
duplicate rows and ``exclude`` means "no related row matches", as a reader expects.
Every name is checked against the model; a bad one raises ``FieldError`` (a 400 when it
came from a request) that lists the names that would work.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, RelationshipProperty
from sqlalchemy.sql.functions import FunctionElement

from kettle.exceptions import BadRequest

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

LOOKUPS = [
    "exact",
    "iexact",
    "contains",
    "icontains",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "range",
    "isnull",
]
TRANSFORMS = ("year", "month", "day", "hour", "minute", "second", "date")


class FieldError(BadRequest):
    """A field, relation or lookup name that the model does not have.

    It is a 400 Bad Request, so a sort or filter key taken from the query string and
    refused here never becomes a 500.
    """


def field_names(model: Any) -> list[str]:
    """Columns and relations of ``model`` usable in filters, ordering and values()."""
    mapper = sa.inspect(model)
    return sorted({*mapper.columns.keys(), *mapper.relationships.keys()})


def _unknown(model: Any, name: str, extra: Iterable[str] = ()) -> FieldError:
    choices = ", ".join([*field_names(model), *extra])
    return FieldError(f"{model.__name__} has no field {name!r}. Choices are: {choices}.")


# --- dialect-aware pieces ---------------------------------------------------------------------
class _Binary(FunctionElement[Any]):
    """A string compared byte-for-byte: MySQL/MariaDB compare case-insensitively otherwise."""

    inherit_cache = True
    type = sa.String()


@compiles(_Binary)
def _binary_default(element: _Binary, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Binary, "mysql")
def _binary_mysql(element: _Binary, compiler: SQLCompiler, **kw: Any) -> str:
    return f"BINARY {compiler.process(element.clauses, **kw)}"


class _Date(FunctionElement[Any]):
    """The date part of a timestamp."""

    inherit_cache = True
    type = sa.Date()


@compiles(_Date)
def _date_default(element: _Date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(_Date, "sqlite")
def _date_sqlite(element: _Date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


def transform(expr: Any, name: str) -> Any:
    """Apply a date transform (``year``, ``month``, ..., ``date``) to a column."""
    if name == "date":
        return _Date(expr)
    return sa.extract(name, expr)


def compare(expr: Any, lookup: str, value: Any) -> Any:
    """``expr <lookup> value`` as SQL; values are always bound parameters."""
    if lookup == "exact":
        return expr.is_(None) if value is None else expr == value
    if lookup == "iexact":
        return sa.func.lower(expr) == str(value).lower()
    if lookup in ("contains", "startswith", "endswith"):
        method = {"contains": "contains", "startswith": "startswith", "endswith": "endswith"}
        return getattr(_Binary(expr), method[lookup])(value, autoescape=True)
    if lookup in ("icontains", "istartswith", "iendswith"):
        method = {"icontains": "contains", "istartswith": "startswith", "iendswith": "endswith"}
        return getattr(sa.func.lower(expr), method[lookup])(str(value).lower(), autoescape=True)
    if lookup == "in":
        if hasattr(value, "_id_subquery"):
            return expr.in_(value._id_subquery())
        return expr.in_(list(value))
    if lookup == "range":
        low, high = value
        return expr.between(low, high)
    if lookup == "isnull":
        return expr.is_(None) if value else expr.is_not(None)
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }
    return ops[lookup](expr, value)


# --- path resolution --------------------------------------------------------------------------
def resolve_filter(
    model: Any, key: str, value: Any, annotations: dict[str, Any] | None = None
) -> Any:
    """Turn ``author__username__iexact="ann"`` into a SQLAlchemy condition on ``model``."""
    annotations = annotations or {}
    parts = key.split("__")
    if parts[0] in annotations:
        lookup = parts[1] if len(parts) > 1 else "exact"
        if len(parts) > 2 or lookup not in LOOKUPS:
            raise FieldError(f"Unsupported lookup {'__'.join(parts[1:])!r} on {parts[0]!r}.")
        return compare(annotations[parts[0]], lookup, _resolve_value(model, value))
    return _condition(model, parts, value, key, annotations)


def _condition(model: Any, parts: list[str], value: Any, key: str, annotations: Any) -> Any:
    mapper = sa.inspect(model)
    name, rest = parts[0], parts[1:]
    if name == "pk":
        name = mapper.primary_key[0].key
    if name in mapper.relationships:
        rel: RelationshipProperty[Any] = mapper.relationships[name]
        attr: InstrumentedAttribute[Any] = getattr(model, name)
        target = rel.mapper.class_
        if not rest or rest[0] in LOOKUPS:
            lookup = rest[0] if rest else "exact"
            if len(rest) > 1:
                raise FieldError(f"Nothing can follow the lookup {lookup!r} in {key!r}.")
            return _relation_lookup(model, name, rel, attr, target, lookup, value)
        inner = _condition(target, rest, value, key, {})
        return attr.any(inner) if rel.uselist else attr.has(inner)
    if name not in mapper.columns:
        raise _unknown(model, name, annotations)
    expr: Any = getattr(model, name)
    lookup = "exact"
    for i, part in enumerate(rest):
        if part in TRANSFORMS:
            expr = transform(expr, part)
        elif part in LOOKUPS and i == len(rest) - 1:
            lookup = part
        else:
            raise FieldError(
                f"Unsupported lookup {part!r} in {key!r}; use one of: "
                f"{', '.join(LOOKUPS + list(TRANSFORMS))}."
            )
    return compare(expr, lookup, _resolve_value(model, value))


def _relation_lookup(
    model: Any, name: str, rel: Any, attr: Any, target: Any, lookup: str, value: Any
) -> Any:
    pk = sa.inspect(target).primary_key[0]
    if rel.uselist:  # to-many: author.articles
        if lookup == "isnull":
            return ~attr.any() if value else attr.any()
        return attr.any(compare(pk, lookup, _ids(value)))
    local = next(iter(rel.local_columns))  # to-one: compare the foreign key itself
    return compare(getattr(model, local.key), lookup, _ids(value))


def _ids(value: Any) -> Any:
    if hasattr(value, "__table__"):
        return sa.inspect(value).identity[0] if sa.inspect(value).identity else None
    if isinstance(value, list | tuple | set):
        return [_ids(v) for v in value]
    return value


def _resolve_value(model: Any, value: Any) -> Any:
    return value.resolve(model) if isinstance(value, F) else value


def resolve_column(model: Any, name: str, annotations: dict[str, Any] | None = None) -> Any:
    """A column or annotation for ordering or ``values()``; relations only through to-one."""
    annotations = annotations or {}
    if name in annotations:
        return annotations[name]
    parts = name.split("__")
    current = model
    for part in parts[:-1]:
        mapper = sa.inspect(current)
        rel = mapper.relationships.get(part)
        if rel is None:
            raise _unknown(current, part, annotations if current is model else ())
        if rel.uselist:
            raise FieldError(
                f"{name!r} goes through {part!r}, which holds many rows; order or select by "
                "an annotation instead (e.g. annotate(latest=Max(...)))."
            )
        current = rel.mapper.class_
    last = parts[-1]
    mapper = sa.inspect(current)
    if last == "pk":
        last = mapper.primary_key[0].key
    if last not in mapper.columns:
        raise _unknown(current, last, annotations if current is model else ())
    return current, getattr(current, last), parts[:-1]


# --- Q and F ----------------------------------------------------------------------------------
class Q:
    """Conditions combined with ``&``, ``|`` and ``~``::

    Article.objects.filter(Q(title__icontains="python") | Q(url__isnull=True))
    """

    def __init__(self, *children: Q, _op: str = "and", _negated: bool = False, **lookups: Any):
        self.children: list[Q | tuple[str, Any]] = [*children, *sorted(lookups.items())]
        self.op = _op
        self.negated = _negated

    def __and__(self, other: Q) -> Q:
        return Q(self, other, _op="and")

    def __or__(self, other: Q) -> Q:
        return Q(self, other, _op="or")

    def __invert__(self) -> Q:
        return Q(self, _negated=True)

    def resolve(self, model: Any, annotations: dict[str, Any] | None = None) -> Any:
        """The SQLAlchemy condition for ``model``."""
        parts = [
            child.resolve(model, annotations)
            if isinstance(child, Q)
            else resolve_filter(model, child[0], child[1], annotations)
            for child in self.children
        ]
        if not parts:
            clause: Any = sa.true()
        elif len(parts) == 1:
            clause = parts[0]
        else:
            clause = sa.and_(*parts) if self.op == "and" else sa.or_(*parts)
        return sa.not_(clause) if self.negated else clause

    def __repr__(self) -> str:
        body = f" {self.op.upper()} ".join(map(repr, self.children))
        return f"{'NOT ' if self.negated else ''}Q({body})"


class F:
    """A reference to a column, for updates and comparisons done in the database::

    Article.objects.filter(id=7).update(score=F("score") + 1)
    """

    def __init__(self, name: str, _ops: tuple[tuple[Callable[[Any, Any], Any], Any], ...] = ()):
        self.name = name
        self.ops = _ops

    def _with(self, op: Callable[[Any, Any], Any], other: Any) -> F:
        return F(self.name, (*self.ops, (op, other)))

    def __add__(self, other: Any) -> F:
        return self._with(operator.add, other)

    def __sub__(self, other: Any) -> F:
        return self._with(operator.sub, other)

    def __mul__(self, other: Any) -> F:
        return self._with(operator.mul, other)

    def __truediv__(self, other: Any) -> F:
        return self._with(operator.truediv, other)

    def resolve(self, model: Any) -> Any:
        """The SQL expression on ``model``."""
        mapper = sa.inspect(model)
        if self.name not in mapper.columns:
            raise _unknown(model, self.name)
        expr: Any = getattr(model, self.name)
        for op, other in self.ops:
            expr = op(expr, other.resolve(model) if isinstance(other, F) else other)
        return expr


__all__ = ["LOOKUPS", "F", "FieldError", "Q", "compare", "field_names", "resolve_filter"]
