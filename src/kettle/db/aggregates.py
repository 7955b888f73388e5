"""``Count``, ``Sum``, ``Avg``, ``Min`` and ``Max`` for ``annotate()`` and ``aggregate()``.

In ``annotate()`` an aggregate over a relation is a correlated subquery per row, so
several annotations never multiply each other's rows (a classic JOIN + GROUP BY trap)
and filtering or ordering by them is a plain ``WHERE``/``ORDER BY``::

    Article.objects.annotate(votes=Count("votes")).filter(votes__gte=10).order_by("-votes")
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from kettle.db.expressions import FieldError, Q, field_names


class Aggregate:
    """An aggregate over a column (``"score"``) or a relation path (``"votes__value"``)."""

    function: ClassVar[str]

    def __init__(self, path: str, *, filter: Q | None = None, distinct: bool = False) -> None:
        self.path = path
        self.filter = filter
        self.distinct = distinct

    def _func(self, column: Any) -> Any:
        arg = sa.distinct(column) if self.distinct else column
        return getattr(sa.func, self.function)(arg)

    def _split(self, model: Any) -> tuple[Any, Any, Any]:
        """(relationship attribute or None, target model, target column)."""
        mapper = sa.inspect(model)
        parts = self.path.split("__")
        if parts[0] in mapper.columns and len(parts) == 1:
            return None, model, getattr(model, parts[0])
        rel = mapper.relationships.get(parts[0])
        if rel is None:
            raise FieldError(
                f"{type(self).__name__}({self.path!r}): {model.__name__} has no field "
                f"{parts[0]!r}. Choices are: {', '.join(field_names(model))}."
            )
        target = rel.mapper.class_
        if len(parts) > 2:
            raise FieldError(
                f"{type(self).__name__}({self.path!r}) reaches across more than one relation; "
                "aggregate over a relation of the model itself, or use .statement."
            )
        name = parts[1] if len(parts) == 2 else sa.inspect(target).primary_key[0].key
        if name not in sa.inspect(target).columns:
            raise FieldError(
                f"{type(self).__name__}({self.path!r}): {target.__name__} has no column {name!r}."
            )
        return getattr(model, parts[0]), target, getattr(target, name)

    def annotation(self, model: Any) -> Any:
        """A per-row value for ``annotate()``: a correlated subquery over the relation."""
        rel, target, column = self._split(model)
        if rel is None:
            raise FieldError(
                f"annotate({type(self).__name__}({self.path!r})) needs a relation "
                "(e.g. Count('votes')); aggregate a column of the model with aggregate()."
            )
        prop = rel.property
        query = sa.select(self._func(column))
        if prop.secondary is not None:
            query = query.select_from(prop.secondary).join(target, prop.secondaryjoin)
        query = query.where(prop.primaryjoin)
        if self.filter is not None:
            query = query.where(self.filter.resolve(target))
        value = query.scalar_subquery()
        return sa.func.coalesce(value, 0) if self.function == "count" else value

    def aggregate(self, model: Any, ids: Any) -> Any:
        """A value over the rows whose primary keys ``ids`` (a subquery) selects."""
        rel, target, column = self._split(model)
        pk = sa.inspect(model).primary_key[0]
        query = sa.select(self._func(column))
        if rel is None:
            query = query.where(pk.in_(ids))
        else:
            query = query.select_from(model).join(rel).where(pk.in_(ids))
        if self.filter is not None:
            query = query.where(self.filter.resolve(target))
        return query.scalar_subquery()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class Count(Aggregate):
    """How many related rows (or non-null values)."""

    function = "count"


class Sum(Aggregate):
    """The total of a column."""

    function = "sum"


class Avg(Aggregate):
    """The mean of a column."""

    function = "avg"


class Min(Aggregate):
    """The smallest value of a column."""

    function = "min"


class Max(Aggregate):
    """The largest value of a column."""

    function = "max"


__all__ = ["Aggregate", "Avg", "Count", "Max", "Min", "Sum"]
