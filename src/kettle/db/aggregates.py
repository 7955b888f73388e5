"""``Count``, ``Sum``, ``Avg``, ``Min`` and ``Max`` for ``annotate()`` and ``aggregate()``.

In ``annotate()`` an aggregate over a relation is a correlated subquery per row, so
several annotations never multiply each other's rows (a classic JOIN + GROUP BY trap)
and filtering or ordering by them is a plain ``WHERE``/``ORDER BY``::

    Article.objects.annotate(votes=Count("votes")).filter(votes__gte=10).order_by("-votes")

Results have the same Python type on every engine: ``Count`` an ``int``; ``Sum`` the
column's type (``int`` for integers, ``Decimal`` for decimals); ``Avg`` a ``float``, or a
``Decimal`` for decimal columns; ``Min``/``Max`` the column's type. Over no rows, every
aggregate but ``Count`` is ``None``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import RelationshipDirection, aliased

from kettle.db.expressions import FieldError, Q, field_names


class _AsInt(sa.types.TypeDecorator[int]):
    """An integer result (MariaDB answers ``SUM`` of integers with a ``DECIMAL``)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)


class _AsFloat(sa.types.TypeDecorator[float]):
    """A float result (PostgreSQL and MariaDB answer ``AVG`` with a ``NUMERIC``)."""

    impl = sa.Float
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> float | None:
        return None if value is None else float(value)


def link(model: Any, prop: Any, target: Any) -> Any:
    """The condition joining ``model`` rows to ``target`` (an alias of the related model)
    along the relationship ``prop``, through its association table if it has one."""
    target_mapper = sa.inspect(target).mapper
    model_mapper = sa.inspect(model).mapper

    def on(entity: Any, mapper: Any, column: Any) -> Any:
        return getattr(entity, mapper.get_property_by_column(column).key)

    if prop.secondary is not None:
        return sa.and_(
            *(on(model, model_mapper, mine) == via for mine, via in prop.synchronize_pairs),
            *(
                on(target, target_mapper, theirs) == via
                for theirs, via in prop.secondary_synchronize_pairs
            ),
        )
    return sa.and_(
        *(
            on(model, model_mapper, mine) == on(target, target_mapper, theirs)
            for mine, theirs in prop.local_remote_pairs
        )
    )


class Aggregate:
    """An aggregate over a column (``"score"``) or a relation path (``"votes__value"``)::

    Count("votes", filter=Q(value=1))       # up-votes only
    Count("votes__user", distinct=True)     # how many people voted
    """

    #: The SQL aggregate function it runs, lower case (``"count"``, ``"sum"``, ...); a
    #: subclass for another function sets it: ``function = "stddev_pop"``.
    function: ClassVar[str]

    def __init__(self, path: str, *, filter: Q | None = None, distinct: bool = False) -> None:
        self.path = path
        self.filter = filter
        self.distinct = distinct

    def _result_type(self, column: Any) -> Any:
        kind = column.type
        if self.function == "count":
            return _AsInt()
        if self.function == "avg":
            exact = isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float)
            return sa.Numeric(asdecimal=True) if exact else _AsFloat()
        if self.function == "sum" and isinstance(kind, sa.Integer):
            return _AsInt()
        if self.function == "sum" and isinstance(kind, sa.Float):
            return _AsFloat()
        return kind

    def _func(self, column: Any) -> Any:
        arg = sa.distinct(column) if self.distinct else column
        return getattr(sa.func, self.function)(arg, type_=self._result_type(column))

    def _fail(self, message: str) -> FieldError:
        return FieldError(f"{type(self).__name__}({self.path!r}): {message}")

    def _split(self, model: Any) -> tuple[Any, Any, str]:
        """(relationship property or None, related model, column key on it)."""
        mapper = sa.inspect(model)
        parts = self.path.split("__")
        first = mapper.primary_key[0].key if parts[0] == "pk" else parts[0]
        if first in mapper.columns and len(parts) == 1:
            return None, model, first
        prop = mapper.relationships.get(first)
        if prop is None:
            raise self._fail(
                f"{model.__name__} has no field {first!r}. "
                f"Choices are: {', '.join(field_names(model))}."
            )
        target = prop.mapper.class_
        if len(parts) > 2:
            raise self._fail(
                "reaches across more than one relation; aggregate over a relation of the "
                "model itself, or use .statement."
            )
        target_mapper = sa.inspect(target)
        name = parts[1] if len(parts) == 2 else "pk"
        if name == "pk":
            name = target_mapper.primary_key[0].key
        further = target_mapper.relationships.get(name)
        if further is not None and further.direction is RelationshipDirection.MANYTOONE:
            name = target_mapper.get_property_by_column(next(iter(further.local_columns))).key
        if name not in target_mapper.columns:
            raise self._fail(
                f"{target.__name__} has no column {name!r}. "
                f"Columns are: {', '.join(target_mapper.columns.keys())}."
            )
        return prop, target, name

    def annotation(self, model: Any) -> Any:
        """A per-row value for ``annotate()``: a correlated subquery over the relation."""
        prop, target, name = self._split(model)
        if prop is None:
            raise self._fail(
                "annotate() needs a relation (e.g. Count('votes')); aggregate a column of "
                "the model itself with aggregate()."
            )
        # NOTE: the related model is always aliased, so a relation to the same model
        # (comment.replies) still correlates with the outer row.
        other = aliased(target)
        query = sa.select(self._func(getattr(other, name))).where(link(model, prop, other))
        if self.filter is not None:
            query = query.where(self.filter.resolve(other))
        return query.scalar_subquery()

    def aggregate(self, model: Any, ids: Any) -> Any:
        """A value over the rows whose primary keys ``ids`` (a subquery) selects."""
        prop, target, name = self._split(model)
        pk = getattr(model, sa.inspect(model).primary_key[0].key)
        if prop is None:
            query = sa.select(self._func(getattr(model, name))).where(pk.in_(ids))
            filter_on = model
        else:
            other = aliased(target)
            query = sa.select(self._func(getattr(other, name))).where(
                link(model, prop, other), pk.in_(ids)
            )
            filter_on = other
        if self.filter is not None:
            query = query.where(self.filter.resolve(filter_on))
        return query.scalar_subquery()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class Count(Aggregate):
    """How many related rows (or non-null values)::

    User.objects.annotate(n=Count("articles"))
    """

    #: SQL ``COUNT``: NULL values are not counted.
    function = "count"


class Sum(Aggregate):
    """The total of a column: ``Article.objects.aggregate(total=Sum("score"))``."""

    #: SQL ``SUM``; None over no rows.
    function = "sum"


class Avg(Aggregate):
    """The mean of a column: ``User.objects.annotate(mean=Avg("articles__score"))``."""

    #: SQL ``AVG``; None over no rows.
    function = "avg"


class Min(Aggregate):
    """The smallest value of a column: ``aggregate(first=Min("created"))``."""

    #: SQL ``MIN``; None over no rows.
    function = "min"


class Max(Aggregate):
    """The largest value of a column: ``annotate(latest=Max("articles__created"))``."""

    #: SQL ``MAX``; None over no rows.
    function = "max"


__all__ = ["Aggregate", "Avg", "Count", "Max", "Min", "Sum", "link"]
