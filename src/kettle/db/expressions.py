"""Django-style query expressions compiled to SQLAlchemy: ``__`` lookups, ``Q`` and ``F``.

Filters across relations become ``EXISTS`` subqueries (``has``/``any``), so they never
duplicate rows and ``exclude`` means "no related row matches", as a reader expects.
Every name is checked against the model; a bad one raises ``FieldError`` (a 400 when it
came from a request) that lists the names that would work. Values are always bound
parameters; text from a query string is converted to the column's type first
(``?score__gte=3`` compares with the number 3), and a value that does not convert is a
``FieldError`` too. What each lookup means on each engine is in ``kettle.db._dialects``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, RelationshipDirection

from kettle._integers import parse_int
from kettle.db import _dialects, _ranges
from kettle.exceptions import BadRequest

#: The comparisons a filter keyword may end with, after ``__``:
#: ``filter(title__icontains="tea", score__gte=10, published__isnull=False)``; no suffix
#: means ``exact``.
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
#: The parts of a date or datetime column a filter can compare, before an optional
#: lookup: ``filter(created__year=2024, created__month__gte=6)``.
TRANSFORMS = ("year", "month", "day", "hour", "minute", "second", "date")
_LIKE = {
    "contains": "%{}%",
    "icontains": "%{}%",
    "startswith": "{}%",
    "istartswith": "{}%",
    "endswith": "%{}",
    "iendswith": "%{}",
}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class FieldError(BadRequest):
    """A field, relation or lookup name that the model does not have, or a value that
    does not fit its field.

    It is a 400 Bad Request, so a sort or filter key taken from the query string and
    refused here never becomes a 500::

        Article.objects.order_by(request.query["sort"])   # FieldError for "password"
    """


def _mapper(entity: Any) -> Any:
    """The mapper of a model class or of an alias of one."""
    return sa.inspect(entity).mapper


def _name(entity: Any) -> str:
    return str(_mapper(entity).class_.__name__)


def field_names(model: Any) -> list[str]:
    """Columns and relations of ``model`` usable in filters, ordering and values()::

    field_names(Tag)   # ["articles", "id", "name"]
    """
    mapper = _mapper(model)
    return sorted({*mapper.columns.keys(), *mapper.relationships.keys()})


def _unknown(model: Any, name: str, extra: Iterable[str] = ()) -> FieldError:
    choices = ", ".join([*field_names(model), *extra])
    return FieldError(f"{_name(model)} has no field {name!r}. Choices are: {choices}.")


# --- values -----------------------------------------------------------------------------------
def type_of(expr: Any) -> Any:
    """The SQL type of a column, model attribute or expression (None if it has none)."""
    # PERF: a model attribute (``Article.score``) answers ``.type`` through a __getattr__
    # proxy (~5 µs, twice per filter); its memoised column expression answers at once.
    if isinstance(expr, QueryableAttribute):
        expr = expr.expression
    return getattr(expr, "type", None)


def _coerce(expr: Any, value: Any, key: str) -> Any:
    """A value from a query string (text) as the type ``expr`` compares with."""
    if not isinstance(value, str):
        return value
    kind = type_of(expr)
    impl = getattr(kind, "impl", kind)
    try:
        if isinstance(impl, sa.Enum):
            return _enum_member(impl, value)
        if isinstance(impl, sa.Boolean):
            return {"true": True, "1": True, "false": False, "0": False}[value.lower()]
        if isinstance(impl, sa.Integer):
            return parse_int(value)
        if isinstance(impl, sa.Float):
            return float(value)
        if isinstance(impl, sa.Numeric):
            return decimal.Decimal(value)
        if isinstance(impl, sa.DateTime):
            return dt.datetime.fromisoformat(value)
        if isinstance(impl, sa.Date):
            return dt.date.fromisoformat(value)
    except (ValueError, KeyError, decimal.InvalidOperation):
        raise FieldError(f"{key}: {value!r} is not a valid {type(impl).__name__}.") from None
    return value


#: ``_coerce`` for ``_statements``' prepared ``get()``.
coerce = _coerce


def _enum_member(kind: sa.Enum, value: str) -> Any:
    enum_class = kind.enum_class
    if enum_class is None or not issubclass(enum_class, Enum):
        return value
    for member in enum_class:
        if value in (str(member.value), member.name):
            return member
    raise ValueError(value)


def _flag(value: Any, key: str) -> bool:
    """The True/False of an ``isnull`` lookup ("false" from a query string is False)."""
    if isinstance(value, str):
        value = {"true": True, "1": True, "false": False, "0": False}.get(value.lower(), value)
    if not isinstance(value, bool):
        raise FieldError(f"{key} takes True or False, not {value!r}.")
    return value


def _refuse_nul(value: Any, key: str) -> None:
    """A ``FieldError`` for text holding NUL: PostgreSQL's drivers refuse to send it (no
    text there can hold one), so it is refused the same way on every engine."""
    texts = value if isinstance(value, list | tuple | set | frozenset) else (value,)
    for text in texts:
        if isinstance(text, str) and "\x00" in text:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise FieldError(f"{key}: {shown!r} holds a NUL character; remove it.")


def _bound(expr: Any, value: Any) -> Any:
    """``value`` as a parameter typed like ``expr`` (columns and F pass through)."""
    if isinstance(value, sa.ColumnElement):
        return value
    return sa.literal(value, type_of(expr))


def _is_text(expr: Any) -> bool:
    kind = type_of(expr)
    return isinstance(kind, sa.String) and not isinstance(kind, sa.Enum)


#: ``_is_text`` for ``_statements``' prepared ``get()``.
is_text = _is_text


def compare(expr: Any, lookup: str, value: Any, key: str = "") -> Any:
    """``expr <lookup> value`` as SQL; values are always bound parameters::

    compare(Article.title, "icontains", "kettle")   # lower(title) LIKE lower(:p)
    """
    key = key or lookup
    if lookup == "isnull":
        return expr.is_(None) if _flag(value, key) else expr.is_not(None)
    _refuse_nul(value, key)
    if value is None:
        if lookup in ("exact", "iexact"):
            return expr.is_(None)
        raise FieldError(f"{key} cannot compare with None; use __isnull=True.")
    if lookup == "exact":
        value = _coerce(expr, value, key)
        if _is_text(expr):
            return _dialects.strict_equal(expr, _bound(expr, value))
        outside = _ranges.compare(expr, "exact", value)
        return expr == value if outside is None else outside
    if lookup == "iexact":
        outside = _ranges.compare(expr, "exact", value)
        return _dialects.iexact(expr, _bound(expr, value)) if outside is None else outside
    if lookup in _LIKE:
        if isinstance(value, sa.ColumnElement | F) or not isinstance(value, str | int | float):
            raise FieldError(f"{key} needs a text value, not {type(value).__name__}.")
        pattern = _LIKE[lookup].format(_dialects.escape_like(str(value)))
        return _dialects.like(expr, pattern, case_sensitive=not lookup.startswith("i"))
    if lookup == "in":
        if hasattr(value, "_in_subquery"):
            return expr.in_(value._in_subquery())
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise FieldError(f"{key} takes a list of values, not {value!r}.")
        return _ranges.compare_in(expr, [_coerce(expr, v, key) for v in value])
    if lookup == "range":
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise FieldError(f"{key} takes (low, high), not {value!r}.")
        bounds = list(value)
        if len(bounds) != 2:
            raise FieldError(f"{key} takes (low, high), not {value!r}.")
        low, high = _coerce(expr, bounds[0], key), _coerce(expr, bounds[1], key)
        from_low, to_high = _ranges.compare(expr, "gte", low), _ranges.compare(expr, "lte", high)
        if from_low is None and to_high is None:
            return expr.between(low, high)
        return sa.and_(
            expr >= low if from_low is None else from_low,
            expr <= high if to_high is None else to_high,
        )
    if lookup in _ORDER:
        value = _coerce(expr, value, key)
        outside = _ranges.compare(expr, lookup, value)
        return _ORDER[lookup](expr, value) if outside is None else outside
    raise FieldError(f"Unsupported lookup {lookup!r}; use one of: {', '.join(LOOKUPS)}.")


# --- path resolution --------------------------------------------------------------------------
def resolve_filter(
    model: Any, key: str, value: Any, annotations: dict[str, Any] | None = None
) -> Any:
    """Turn ``author__username__iexact="ann"`` into a SQLAlchemy condition on ``model``
    (a model class or an alias of one)::

        resolve_filter(Article, "votes__user__username", "ann")   # EXISTS (...)
    """
    annotations = annotations or {}
    parts = key.split("__")
    if parts[0] in annotations and (len(parts) == 1 or parts[1] in LOOKUPS):
        lookup = parts[1] if len(parts) > 1 else "exact"
        if len(parts) > 2:
            raise FieldError(f"Nothing can follow the lookup {lookup!r} in {key!r}.")
        return compare(annotations[parts[0]], lookup, _resolve_value(model, value), key)
    return _condition(model, parts, value, key, annotations)


def _condition(model: Any, parts: list[str], value: Any, key: str, annotations: Any) -> Any:
    mapper = _mapper(model)
    name, rest = parts[0], parts[1:]
    if name == "pk":
        name = mapper.primary_key[0].key
    if name in mapper.relationships:
        rel = mapper.relationships[name]
        attr = getattr(model, name)
        if not rest or rest[0] in LOOKUPS:
            lookup = rest[0] if rest else "exact"
            if len(rest) > 1:
                raise FieldError(f"Nothing can follow the lookup {lookup!r} in {key!r}.")
            return _relation_lookup(model, rel, attr, lookup, value, key)
        inner = _condition(rel.mapper.class_, rest, value, key, {})
        return attr.any(inner) if rel.uselist else attr.has(inner)
    if name not in mapper.columns:
        raise _unknown(model, name, annotations)
    expr: Any = getattr(model, name)
    lookup = "exact"
    for i, part in enumerate(rest):
        if part in TRANSFORMS:
            kind = type_of(expr)
            if not isinstance(getattr(kind, "impl", kind), sa.Date | sa.DateTime):
                raise FieldError(f"{key!r}: {part!r} applies to dates and times only.")
            expr = _dialects.date_part(expr, part)
        elif part in LOOKUPS and i == len(rest) - 1:
            lookup = part
        else:
            raise FieldError(
                f"Unsupported lookup {part!r} in {key!r}; use one of: "
                f"{', '.join(LOOKUPS + list(TRANSFORMS))}."
            )
    return compare(expr, lookup, _resolve_value(model, value), key)


def _relation_lookup(model: Any, rel: Any, attr: Any, lookup: str, value: Any, key: str) -> Any:
    target = rel.mapper.class_
    if rel.direction is RelationshipDirection.MANYTOONE:  # the foreign key is ours
        local = next(iter(rel.local_columns))
        column = getattr(model, rel.parent.get_property_by_column(local).key)
        return compare(column, lookup, _ids(value, target, key), key)
    exists = attr.any if rel.uselist else attr.has
    if lookup == "isnull":
        return ~exists() if _flag(value, key) else exists()
    pk = getattr(target, _mapper(target).primary_key[0].key)
    return exists(compare(pk, lookup, _ids(value, target, key), key))


def _ids(value: Any, target: Any, key: str) -> Any:
    """Model instances as their primary keys (for comparing with a foreign key)."""
    if hasattr(value, "__table__"):
        if not isinstance(value, target):
            raise FieldError(f"{key} takes a {target.__name__}, not a {type(value).__name__}.")
        identity = sa.inspect(value).identity
        if identity is None:
            raise ValueError(f"{key}: {value!r} is not saved yet, so it has no id to filter by.")
        return identity[0]
    if isinstance(value, list | tuple | set | frozenset):
        return [_ids(v, target, key) for v in value]
    return value


def _resolve_value(model: Any, value: Any) -> Any:
    return value.resolve(model) if isinstance(value, F) else value


@dataclass(frozen=True, slots=True)
class ColumnPath:
    """A column reached through to-one relations: ``author__username`` is
    ``ColumnPath(("author",), "username")`` (joined by the QuerySet)."""

    #: The to-one relations followed, in order: ``("article", "author")`` for
    #: ``article__author__username``; empty for a column of the model itself.
    relations: tuple[str, ...]
    #: The column's attribute name on the last model reached: ``"username"``.
    column: str


def resolve_column(model: Any, name: str, annotations: dict[str, Any] | None = None) -> Any:
    """An annotation, or the ``ColumnPath`` of a column for ordering or ``values()``;
    relations are followed only where they lead to one row (``author__username``), and a
    to-one relation's own name means its foreign key (``author`` is ``author_id``)::

        resolve_column(Article, "author__username")   # ColumnPath(("author",), "username")
    """
    annotations = annotations or {}
    if name in annotations:
        return annotations[name]
    parts = name.split("__")
    current = model
    for i, part in enumerate(parts):
        mapper = _mapper(current)
        extra = annotations if current is model else ()
        if part == "pk":
            part = mapper.primary_key[0].key
        rel = mapper.relationships.get(part)
        last = i == len(parts) - 1
        if last and part in mapper.columns:
            return ColumnPath(tuple(parts[:-1]), part)
        if rel is None:
            if last and i > 0 and part in (*LOOKUPS, *TRANSFORMS):
                raise FieldError(
                    f"{name!r} ends with the lookup {part!r}; lookups belong in filter() "
                    f"and exclude(). Name the field alone: {'__'.join(parts[:-1])!r}."
                )
            raise _unknown(current, part, extra)
        if rel.uselist:
            raise FieldError(
                f"{name!r} goes through {part!r}, which holds many rows; order or select by "
                "an annotation instead (e.g. annotate(latest=Max(...)))."
            )
        if last:
            if rel.direction is not RelationshipDirection.MANYTOONE:
                raise FieldError(f"{name!r} is a relation; name one of its fields ({name}__id).")
            local = next(iter(rel.local_columns))
            return ColumnPath(tuple(parts[:-1]), mapper.get_property_by_column(local).key)
        current = rel.mapper.class_
    raise _unknown(model, name, annotations)  # pragma: no cover - the loop always returns


# --- Q and F ----------------------------------------------------------------------------------
def negate(clause: Any) -> Any:
    """``NOT clause`` where a NULL comparison counts as "did not match", so ``exclude()``
    keeps the rows whose column is NULL (SQL's plain ``NOT`` would drop them too)."""
    return sa.not_(sa.func.coalesce(clause, sa.false()))


class Q:
    """Conditions combined with ``&``, ``|`` and ``~``::

    Article.objects.filter(Q(title__icontains="python") | Q(url__isnull=True))
    """

    def __init__(self, *children: Q, _op: str = "and", _negated: bool = False, **lookups: Any):
        for child in children:
            if not isinstance(child, Q):
                raise TypeError(f"Q() takes Q objects and field=value pairs, not {child!r}.")
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
        """The SQLAlchemy condition for ``model``: ``Q(score__gt=3).resolve(Article)``."""
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
        return negate(clause) if self.negated else clause

    def __repr__(self) -> str:
        body = f" {self.op.upper()} ".join(map(repr, self.children))
        return f"{'NOT ' if self.negated else ''}Q({body})"


class F:
    """A reference to a column, for updates and comparisons done in the database::

    Article.objects.filter(id=7).update(score=F("score") + 1)
    Article.objects.filter(score__gt=F("rating"))
    """

    def __init__(self, name: str, _ops: tuple[tuple[Callable[[Any, Any], Any], Any], ...] = ()):
        self.name = name
        self.ops = _ops

    def _with(self, op: Callable[[Any, Any], Any], other: Any) -> F:
        return F(self.name, (*self.ops, (op, other)))

    def __add__(self, other: Any) -> F:
        return self._with(operator.add, other)

    def __radd__(self, other: Any) -> F:
        return self._with(lambda expr, value: value + expr, other)

    def __sub__(self, other: Any) -> F:
        return self._with(operator.sub, other)

    def __rsub__(self, other: Any) -> F:
        return self._with(lambda expr, value: value - expr, other)

    def __mul__(self, other: Any) -> F:
        return self._with(operator.mul, other)

    def __rmul__(self, other: Any) -> F:
        return self._with(lambda expr, value: value * expr, other)

    def __truediv__(self, other: Any) -> F:
        return self._with(operator.truediv, other)

    def resolve(self, model: Any) -> Any:
        """The SQL expression on ``model``: ``F("score").resolve(Article)``."""
        mapper = _mapper(model)
        name = mapper.primary_key[0].key if self.name == "pk" else self.name
        if name not in mapper.columns:
            raise _unknown(model, self.name)
        expr: Any = getattr(model, name)
        for op, other in self.ops:
            expr = op(expr, other.resolve(model) if isinstance(other, F) else other)
        return expr

    def __repr__(self) -> str:
        return f"F({self.name!r})" + (f" with {len(self.ops)} operation(s)" if self.ops else "")


__all__ = [
    "LOOKUPS",
    "TRANSFORMS",
    "ColumnPath",
    "F",
    "FieldError",
    "Q",
    "compare",
    "field_names",
    "negate",
    "resolve_column",
    "resolve_filter",
]
