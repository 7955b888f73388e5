"""The SQL a ``QuerySet`` runs: its state turned into SQLAlchemy statements.

Kept apart from ``query`` so the QuerySet reads as its API; every function here takes a
QuerySet and returns a statement, running nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kettle.db._dialects import sort_key
from kettle.db.aggregates import Aggregate
from kettle.db.expressions import ColumnPath, FieldError, resolve_column

if TYPE_CHECKING:
    from kettle.db.query import QuerySet


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
    return stmt


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
        return stmt.where(*qs._where) if qs._where else stmt
    inner = select(qs, ordered=False, loads=False)
    if qs._values is None:
        inner = inner.with_only_columns(pk_of(qs.model))
    return sa.select(sa.func.count()).select_from(inner.subquery())


def exists(qs: QuerySet[Any]) -> Any:
    """``SELECT EXISTS (...)`` for ``qs``."""
    inner = select(qs, ordered=is_sliced(qs), loads=False).with_only_columns(
        sa.literal(1), maintain_column_froms=True
    )
    return sa.select(sa.exists(inner))


def aggregate(qs: QuerySet[Any], aggregates: dict[str, Aggregate]) -> Any:
    """One row of ``aggregates`` over the rows ``qs`` matches."""
    if not aggregates:
        raise TypeError("aggregate() needs at least one aggregate: aggregate(n=Count('id')).")
    ids = in_subquery(qs if qs._values is None else qs._clone_as_objects())
    return sa.select(*(a.aggregate(qs.model, ids).label(k) for k, a in aggregates.items()))


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


__all__ = ["aggregate", "count", "delete", "exists", "in_subquery", "select", "update"]
