"""The SQL a ``QuerySet`` runs: its state turned into SQLAlchemy statements.

Kept apart from ``query`` so the QuerySet reads as its API; every function here takes a
QuerySet and returns a statement, running nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable

from kettle.db._dialects import sort_key, strict_equal
from kettle.db._ranges import common_range, integer_type
from kettle.db.aggregates import Aggregate
from kettle.db.expressions import ColumnPath, FieldError, coerce, is_text, resolve_column

if TYPE_CHECKING:
    from kettle.db.query import QuerySet

E = TypeVar("E", bound=Executable)


class _Joins:
    """LEFT OUTER JOINs to to-one relations that ordering or ``values()`` reach, one per
    relation path however often it is named."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.paths: dict[tuple[str, ...], tuple[Any, Any]] = {}

    def column(self, name: str, annotations: dict[str, Any]) -> Any:
        resolved = resolve_column(self.model, name, annotations)
        if not isinstance(resolved, ColumnPath):
            return resolved
        entity = self.model
        for i, relation in enumerate(resolved.relations):
            key = resolved.relations[: i + 1]
            if key not in self.paths:
                target = aliased(sa.inspect(entity).mapper.relationships[relation].mapper.class_)
                self.paths[key] = (target, getattr(entity, relation).of_type(target))
            entity = self.paths[key][0]
        return getattr(entity, resolved.column)

    def apply(self, stmt: Any) -> Any:
        for _, onclause in self.paths.values():
            stmt = stmt.outerjoin(onclause)
        return stmt


def pk_of(model: Any) -> Any:
    """The primary-key attribute of ``model``."""
    return getattr(model, sa.inspect(model).primary_key[0].key)


def is_sliced(qs: QuerySet[Any]) -> bool:
    return qs._limit is not None or qs._offset is not None


def ordering(qs: QuerySet[Any]) -> tuple[str, ...]:
    """The names the rows are sorted by: ``order_by()``, else ``Meta.ordering``."""
    order = qs._order if qs._order is not None else qs.model._kettle_ordering
    if not order and is_sliced(qs) and not qs._distinct:
        # NOTE: without an ORDER BY, PostgreSQL may return a different slice for the same
        # LIMIT/OFFSET, and a paginator would repeat or skip rows.
        return ("pk",)
    return order


def select(qs: QuerySet[Any], *, ordered: bool = True, loads: bool = True) -> sa.Select[Any]:
    """The SELECT of ``qs`` (what ``qs.statement`` returns)."""
    model = qs.model
    joins = _Joins(model)
    order_by = []
    for name in ordering(qs) if ordered else ():
        expr = joins.column(name.removeprefix("-"), qs._annotations)
        joined = "__" in name and name.removeprefix("-") not in qs._annotations
        order_by.append(sort_key(expr, descending=name.startswith("-"), joined=joined))
    stmt: sa.Select[Any]
    if qs._values is not None:
        columns = [joins.column(name, qs._annotations).label(name) for name in qs._values]
        stmt = sa.select(*columns).select_from(model)
    else:
        stmt = sa.select(model, *qs._annotations.values())
    stmt = joins.apply(stmt)
    if qs._where:
        stmt = stmt.where(*qs._where)
    if order_by:
        stmt = stmt.order_by(*order_by)
    if qs._distinct:
        stmt = stmt.distinct()
    if qs._limit is not None:
        stmt = stmt.limit(qs._limit)
    if qs._offset is not None:
        stmt = stmt.offset(qs._offset)
    if qs._lock is not None:
        # OF keeps the lock off outer-joined tables (PostgreSQL refuses those otherwise).
        stmt = stmt.with_for_update(read=qs._lock == "share", of=model)
    if loads and qs._loads and qs._values is None:
        stmt = stmt.options(*qs._loads)
    return routed(qs, stmt)


def routed(qs: QuerySet[Any], stmt: E) -> E:
    """``stmt`` sent where ``qs.using()`` asks (read replicas; see kettle.db._replicas)."""
    if qs._using is None:
        return stmt
    return stmt.execution_options(kettle_route=qs._using)


#: Per model, per (values, order_by, distinct, lock): the SELECT of an unfiltered QuerySet.
_PLAIN_SELECTS: weakref.WeakKeyDictionary[type, dict[tuple[Any, ...], sa.Select[Any]]] = (
    weakref.WeakKeyDictionary()
)
#: Shapes kept per model: order_by() may come from a query string, so the memo is bounded.
_PLAIN_SELECTS_PER_MODEL = 64


def select_to_run(qs: QuerySet[Any]) -> sa.Select[Any]:
    """``select(qs)``, memoised per model and shape when ``qs`` has no filter, annotation,
    slice or loader option (``Model.objects.all()``, ``.values("id", "message")``,
    ``.order_by("name")``): the statements a page runs on every request."""
    if qs._where or qs._annotations or qs._loads or qs._limit is not None or qs._offset is not None:
        return select(qs)
    # PERF: the same Select object every time also keeps SQLAlchemy's cache key memoised
    # on it, so running it is a dict hit instead of a walk over the statement.
    shapes = _PLAIN_SELECTS.get(qs.model)
    if shapes is None:
        shapes = _PLAIN_SELECTS[qs.model] = {}
    key = (qs._values, qs._order, qs._distinct, qs._lock, qs._using)
    stmt = shapes.get(key)
    if stmt is None:
        stmt = select(qs)
        if len(shapes) < _PLAIN_SELECTS_PER_MODEL:
            shapes[key] = stmt
    return stmt


class _Equality:
    """A memoised ``SELECT ... WHERE a = :a AND b = :b ... LIMIT 2`` for ``get()``, with
    the values each integer column holds on every engine (None for other columns)."""

    __slots__ = ("columns", "params", "ranges", "statement")

    def __init__(
        self,
        statement: sa.Select[Any],
        columns: list[Any],
        params: list[str],
        ranges: list[tuple[int, int] | None],
    ):
        self.statement = statement
        self.columns = columns
        self.params = params
        self.ranges = ranges


#: Per model, per tuple of lookup names (and select_related() paths): the prepared
#: statement, or None (no fast path).
_EQUALITIES: weakref.WeakKeyDictionary[type, dict[Any, _Equality | None]] = (
    weakref.WeakKeyDictionary()
)
#: Values compared as they are; others (None, instances, F(), lists) take the usual path.
_PLAIN = frozenset({int, str, float, bool, decimal.Decimal, dt.date, dt.datetime, uuid.UUID})


def get_by_equality(
    qs: QuerySet[Any], lookups: dict[str, Any]
) -> tuple[sa.Select[Any], dict[str, Any]] | None:
    """``get(**lookups)`` as a prepared statement and its parameters, when ``qs`` is
    untouched (``Model.objects``, or it with ``select_related()``, or its ``values()`` /
    ``values_list()`` rows) and every lookup is ``column=value``; else None.

    The statement is the one ``qs.filter(**lookups)[:2].statement`` builds, made once per
    model and lookup names with a bind parameter per value.
    """
    if (
        qs._where
        or qs._annotations
        or qs._order is not None
        or qs._limit is not None
        or qs._offset is not None
        or len(qs._loads) != len(qs._related)  # prefetch_related()
        or (qs._values is not None and not qs._core_rows())  # values("a", "a")
        or qs._distinct
        or qs._lock is not None
        or qs._using is not None
        or not lookups
    ):
        return None
    model = qs.model
    shapes = _EQUALITIES.get(model)
    if shapes is None:
        shapes = _EQUALITIES[model] = {}
    names = tuple(lookups)
    # select_related() paths (its JOINs) and values() columns are part of the statement,
    # so of the key.
    key: Any = names
    if qs._related:
        key = (names, qs._related)
    if qs._values is not None:
        key = (key, qs._shape, qs._values)
    try:
        shape = shapes[key]
    except KeyError:
        shape = shapes[key] = _equality(qs, names)
    if shape is None:
        return None
    params = {}
    # PERF: the statement is built once; a call only coerces its values (as filter()
    # does: "42" from a query string compares as 42 with an integer column).
    for name, param, column, bounds in zip(
        names, shape.params, shape.columns, shape.ranges, strict=True
    ):
        value = lookups[name]
        if type(value) not in _PLAIN or (type(value) is str and "\x00" in value):
            return None  # filter() handles it (and refuses text holding NUL)
        value = params[param] = coerce(column, value, name)
        if bounds is not None and type(value) is int and not bounds[0] <= value <= bounds[1]:
            return None  # a value the column cannot hold: filter() resolves it without SQL
    return shape.statement, params


def _equality(qs: QuerySet[Any], names: tuple[str, ...]) -> _Equality | None:
    model = qs.model
    mapper = sa.inspect(model)
    columns, params, conditions = [], [], []
    for i, name in enumerate(names):
        key = mapper.primary_key[0].key if name == "pk" else name
        if "__" in name or key not in mapper.columns or key in mapper.relationships:
            return None
        column = getattr(model, key)
        param = f"kettle_get_{i}"
        bound = sa.bindparam(param, type_=column.type)
        conditions.append(strict_equal(column, bound) if is_text(column) else column == bound)
        columns.append(column)
        params.append(param)
    prepared = qs._clone()
    prepared._where = conditions
    prepared._limit = 2
    ranges = [
        None if integer_type(column) is None else common_range(integer_type(column))
        for column in columns
    ]
    return _Equality(select(prepared), columns, params, ranges)


def in_subquery(qs: QuerySet[Any]) -> Any:
    """What ``x__in=qs`` compares with: the primary keys of ``qs``, or its single
    ``values()``/``values_list()`` column."""
    if qs._values is not None and len(qs._values) != 1:
        raise FieldError(
            f"A QuerySet used with __in must select one field; this one selects {len(qs._values)}."
        )
    stmt = select(qs, ordered=is_sliced(qs), loads=False)
    if qs._values is None:
        stmt = stmt.with_only_columns(pk_of(qs.model))
    if is_sliced(qs):
        # LIMIT inside IN (...) is refused by MariaDB; select from a derived table.
        derived = stmt.subquery()
        return sa.select(*derived.c)
    # The subquery stands alone: it must not correlate with an outer query on the same table.
    return stmt.correlate(None)


def count(qs: QuerySet[Any]) -> Any:
    """``SELECT count(*)`` of the rows ``qs`` matches."""
    if not is_sliced(qs) and not qs._distinct and qs._values is None:
        stmt = sa.select(sa.func.count()).select_from(qs.model)
        return routed(qs, stmt.where(*qs._where) if qs._where else stmt)
    inner = select(qs, ordered=False, loads=False)
    if qs._values is None:
        inner = inner.with_only_columns(pk_of(qs.model))
    return routed(qs, sa.select(sa.func.count()).select_from(inner.subquery()))


def exists(qs: QuerySet[Any]) -> Any:
    """``SELECT EXISTS (...)`` for ``qs``."""
    inner = select(qs, ordered=is_sliced(qs), loads=False).with_only_columns(
        sa.literal(1), maintain_column_froms=True
    )
    return routed(qs, sa.select(sa.exists(inner)))


def aggregate(qs: QuerySet[Any], aggregates: dict[str, Aggregate]) -> Any:
    """One row of ``aggregates`` over the rows ``qs`` matches."""
    if not aggregates:
        raise TypeError("aggregate() needs at least one aggregate: aggregate(n=Count('id')).")
    ids = in_subquery(qs if qs._values is None else qs._clone_as_objects())
    stmt = sa.select(*(a.aggregate(qs.model, ids).label(k) for k, a in aggregates.items()))
    return routed(qs, stmt)


def _matching(qs: QuerySet[Any], stmt: Any) -> Any:
    if is_sliced(qs):
        return stmt.where(pk_of(qs.model).in_(in_subquery(qs._clone_as_objects())))
    return stmt.where(*qs._where) if qs._where else stmt


def update(qs: QuerySet[Any], values: dict[str, Any]) -> Any:
    """``UPDATE`` of the rows ``qs`` matches; objects in the session get the new values."""
    stmt = _matching(qs, sa.update(qs.model).values(values))
    return stmt.execution_options(synchronize_session="fetch")


def delete(qs: QuerySet[Any]) -> Any:
    """``DELETE`` of the rows ``qs`` matches; objects in the session are marked deleted."""
    stmt = _matching(qs, sa.delete(qs.model))
    return stmt.execution_options(synchronize_session="fetch")


__all__ = [
    "aggregate",
    "count",
    "delete",
    "exists",
    "get_by_equality",
    "in_subquery",
    "routed",
    "select",
    "select_to_run",
    "update",
]
