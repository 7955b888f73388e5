"""Lazy QuerySets with Django's API, on SQLAlchemy 2 ``select()``.

Naming rule for sync and async: every operation that runs SQL exists twice; the async
twin has the same name with an ``a`` in front (``get``/``aget``, ``count``/``acount``,
``create``/``acreate``); iterating is ``for`` / ``async for``, and ``list(qs)`` is
``await qs.alist()``. Building a query (``filter``, ``order_by``, ``annotate``, slicing)
runs nothing and is the same in both worlds::

    top = (Article.objects.filter(created__gte=week_ago)
           .annotate(votes=Count("votes")).filter(votes__gte=10).order_by("-votes"))
    for article in top[:20]: ...            # def handler
    async for article in top[:20]: ...      # async def handler

``.statement`` is the SQLAlchemy ``Select`` at any point.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import joinedload, selectinload

from kettle.db.aggregates import Aggregate
from kettle.db.expressions import FieldError, Q, _unknown, resolve_column
from kettle.db.session import async_session, sync_session
from kettle.exceptions import HTTPException

if TYPE_CHECKING:
    from kettle.db.models import Model

M = TypeVar("M", bound="Model")


class DoesNotExist(HTTPException):
    """``get()`` found nothing: a 404 when it escapes a handler."""

    def __init__(self, model: str, filters: dict[str, Any]) -> None:
        shown = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "the given query"
        super().__init__(404, f"No {model} matches {shown}.")


class MultipleObjectsReturned(Exception):
    """``get()`` matched more than one row; add a filter that picks one."""


class QuerySet(Generic[M]):
    """A lazy query for ``model`` (see the module docstring)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._where: list[Any] = []
        self._order: tuple[str, ...] | None = None
        self._annotations: dict[str, Any] = {}
        self._limit: int | None = None
        self._offset: int | None = None
        self._values: tuple[str, ...] | None = None
        self._flat = False
        self._loads: list[Any] = []
        self._distinct = False
        self._values_as_tuples = False

    def _clone(self) -> Self:
        clone = copy.copy(self)
        clone._where = list(self._where)
        clone._annotations = dict(self._annotations)
        clone._loads = list(self._loads)
        return clone

    # --- building ----------------------------------------------------------------------
    def all(self) -> Self:
        """A copy of this QuerySet (all rows when called on ``objects``)."""
        return self._clone()

    def filter(self, *conditions: Q, **lookups: Any) -> Self:
        """Rows matching every condition: ``filter(title__icontains="kettle", score__gte=3)``."""
        return self._add_condition(Q(*conditions, **lookups), negate=False)

    def exclude(self, *conditions: Q, **lookups: Any) -> Self:
        """Rows not matching the conditions taken together."""
        return self._add_condition(Q(*conditions, **lookups), negate=True)

    def _add_condition(self, q: Q, negate: bool) -> Self:
        if self._limit is not None or self._offset is not None:
            raise TypeError("Cannot filter a QuerySet after slicing it; filter first.")
        clone = self._clone()
        condition = q.resolve(self.model, clone._annotations)
        clone._where.append(sa.not_(condition) if negate else condition)
        return clone

    def order_by(self, *names: str) -> Self:
        """Sort by columns, annotations or to-one relation paths; ``-name`` is descending.

        Names are checked against the model, so a sort key from a query string is safe.
        """
        for name in names:
            resolve_column(self.model, name.removeprefix("-"), self._annotations)
        clone = self._clone()
        clone._order = names
        return clone

    def annotate(self, **aggregates: Aggregate) -> Self:
        """Add per-row aggregates: ``annotate(votes=Count("votes"))`` (``article.votes``)."""
        clone = self._clone()
        mapper = sa.inspect(self.model)
        for name, aggregate in aggregates.items():
            if name in mapper.columns:
                raise FieldError(f"annotate({name}=...) clashes with the column {name!r}.")
            # A name may shadow a relation (annotate(votes=Count("votes"))): in this query
            # "votes" is the count; on objects it stays the relation, and the count is in
            # obj.annotations["votes"].
            clone._annotations[name] = aggregate.annotation(self.model).label(name)
        return clone

    def select_related(self, *paths: str) -> Self:
        """Load to-one relations in the same query (a JOIN): ``select_related("author")``."""
        clone = self._clone()
        clone._loads.extend(self._loader(path, joinedload) for path in paths)
        return clone

    def prefetch_related(self, *paths: str) -> Self:
        """Load relations with one extra query each (``SELECT ... IN``).

        ::

            Article.objects.prefetch_related("tags")
        """
        clone = self._clone()
        clone._loads.extend(self._loader(path, selectinload) for path in paths)
        return clone

    def _loader(self, path: str, strategy: Any) -> Any:
        current: Any = self.model
        option: Any = None
        for part in path.split("__"):
            rel = sa.inspect(current).relationships.get(part)
            if rel is None:
                raise FieldError(
                    f"{current.__name__} has no relation {part!r}. Relations are: "
                    f"{', '.join(sorted(sa.inspect(current).relationships.keys()))}."
                )
            attr = getattr(current, part)
            option = strategy(attr) if option is None else getattr(option, strategy.__name__)(attr)
            current = rel.mapper.class_
        return option

    def distinct(self) -> Self:
        """Drop duplicate rows."""
        clone = self._clone()
        clone._distinct = True
        return clone

    def values(self, *names: str) -> QuerySet[Any]:
        """Rows as dicts of the named fields (all columns when none are named)."""
        names = names or tuple(c.key for c in sa.inspect(self.model).columns)
        for name in names:
            resolve_column(self.model, name, self._annotations)
        clone = self._clone()
        clone._values = names
        return clone

    def values_list(self, *names: str, flat: bool = False) -> QuerySet[Any]:
        """Rows as tuples; with ``flat=True`` and one name, plain values."""
        if flat and len(names) != 1:
            raise TypeError("values_list(flat=True) takes exactly one field name.")
        clone = self.values(*names)
        clone._flat = flat
        clone._values_as_tuples = True
        return clone

    @overload
    def __getitem__(self, key: int) -> M: ...
    @overload
    def __getitem__(self, key: slice) -> Self: ...
    def __getitem__(self, key: int | slice) -> M | Self:
        if isinstance(key, int):
            if key < 0:
                raise IndexError("QuerySets do not support negative indexes; use order_by('-x').")
            rows = self[key : key + 1]._fetch_all_sync()
            if not rows:
                raise IndexError(f"No {self.model.__name__} at index {key}.")
            return rows[0]  # type: ignore[no-any-return]
        if key.step is not None or (key.start or 0) < 0 or (key.stop or 0) < 0:
            raise IndexError("QuerySets take slices like [start:stop] with no negative values.")
        clone = self._clone()
        start = (self._offset or 0) + (key.start or 0)
        if key.stop is not None:
            stop = (self._offset or 0) + key.stop
            if self._limit is not None:
                stop = min(stop, (self._offset or 0) + self._limit)
            clone._limit = max(stop - start, 0)
        clone._offset = start or None
        return clone

    # --- SQL -----------------------------------------------------------------------------------
    @property
    def statement(self) -> sa.Select[Any]:
        """The SQLAlchemy ``Select`` this QuerySet runs: drop down to it at any point."""
        model = self.model
        joins: dict[str, Any] = {}
        order = self._order if self._order is not None else model._kettle_ordering
        order_by = []
        for name in order:
            expr = self._column(name.removeprefix("-"), joins)
            order_by.append(expr.desc() if name.startswith("-") else expr.asc())
        if self._values is not None:
            columns = [self._column(name, joins).label(name) for name in self._values]
            stmt = sa.select(*columns).select_from(model)
        else:
            stmt = sa.select(model, *self._annotations.values())
        for relation, target in joins.items():
            stmt = stmt.outerjoin(getattr(model, relation).of_type(target))
        if self._where:
            stmt = stmt.where(*self._where)
        if order_by:
            stmt = stmt.order_by(*order_by)
        if self._distinct:
            stmt = stmt.distinct()
        if self._limit is not None:
            stmt = stmt.limit(self._limit)
        if self._offset is not None:
            stmt = stmt.offset(self._offset)
        if self._loads and self._values is None:
            stmt = stmt.options(*self._loads)
        return stmt

    def _column(self, name: str, joins: dict[str, Any]) -> Any:
        resolved = resolve_column(self.model, name, self._annotations)
        if not isinstance(resolved, tuple):
            return resolved
        owner, column, path = resolved
        if not path:
            return column
        if len(path) != 1:
            raise FieldError(
                f"{name!r} reaches across {len(path)} relations; order by or select fields "
                "of directly related models only."
            )
        target = joins.setdefault(path[0], sa.orm.aliased(owner))
        return getattr(target, column.key)

    def _id_subquery(self) -> Any:
        pk = sa.inspect(self.model).primary_key[0]
        stmt = sa.select(pk)
        if self._where:
            stmt = stmt.where(*self._where)
        if self._limit is not None or self._offset is not None:
            # LIMIT inside IN (...) is refused by MySQL; select from a derived table.
            derived = self.statement.with_only_columns(pk).subquery()
            return sa.select(derived.c[str(pk.key)])
        return stmt

    def _rows(self, result: Any) -> list[Any]:
        if self._values is not None:
            rows = result.all()
            if self._values_as_tuples:
                return [row[0] for row in rows] if self._flat else [tuple(row) for row in rows]
            return [dict(row._mapping) for row in rows]
        if not self._annotations:
            return list(result.unique().scalars().all() if self._loads else result.scalars())
        objects = []
        attrs = sa.inspect(self.model).attrs
        for row in result.unique().all() if self._loads else result.all():
            obj = row[0]
            values = dict(zip(self._annotations, row[1:], strict=True))
            obj.__dict__["_kettle_annotations"] = values
            for name, value in values.items():
                if name not in attrs:
                    obj.__dict__[name] = value
            objects.append(obj)
        return objects

    # --- running: sync -------------------------------------------------------------------------
    def _fetch_all_sync(self) -> list[Any]:
        return self._rows(sync_session().execute(self.statement))

    def __iter__(self) -> Iterator[M]:
        return iter(self._fetch_all_sync())

    def get(self, *conditions: Q, **lookups: Any) -> M:
        """The one row matching; ``DoesNotExist`` (a 404) or ``MultipleObjectsReturned``."""
        rows = self.filter(*conditions, **lookups)[:2]._fetch_all_sync()
        return self._one(rows, lookups)  # type: ignore[no-any-return]

    def first(self) -> M | None:
        """The first row (by the ordering, else by primary key), or None."""
        rows = self._ordered()[:1]._fetch_all_sync()
        return rows[0] if rows else None

    def last(self) -> M | None:
        """The last row (by the ordering, else by primary key), or None."""
        rows = self._reversed()[:1]._fetch_all_sync()
        return rows[0] if rows else None

    def exists(self) -> bool:
        """Whether any row matches (cheaper than ``count()``)."""
        return bool(sync_session().scalar(sa.select(sa.exists(self._exists_query()))))

    def count(self) -> int:
        """How many rows match."""
        return int(sync_session().scalar(self._count_query()) or 0)

    def aggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """Values over all matching rows: ``aggregate(total=Sum("score"))``."""
        row = sync_session().execute(self._aggregate_query(aggregates)).one()
        return dict(row._mapping)

    def create(self, **values: Any) -> M:
        """Validate, insert and return a new row."""
        obj = self.model(**values)
        obj.save()
        return obj

    def update(self, **values: Any) -> int:
        """Set columns on every matching row in one UPDATE; returns the row count."""
        return int(sync_session().execute(self._update_query(values)).rowcount)  # type: ignore[attr-defined]

    def delete(self) -> int:
        """Delete every matching row in one DELETE (the database applies ON DELETE)."""
        return int(sync_session().execute(self._delete_query()).rowcount)  # type: ignore[attr-defined]

    def bulk_create(
        self, objects: Iterable[M], batch_size: int = 1000, progress: bool = False
    ) -> list[M]:
        """Insert many objects, validated, in batches; ``progress=True`` shows a bar."""
        items = list(objects)
        session = sync_session()
        for batch in _batches(items, batch_size, progress, f"Creating {self.model.__name__}"):
            for obj in batch:
                obj.full_clean()
            session.add_all(batch)
            session.flush()
        return items

    def bulk_update(
        self, objects: Iterable[M], fields: Sequence[str], batch_size: int = 1000
    ) -> int:
        """Write ``fields`` of already loaded objects back in batches; returns the count."""
        items = list(objects)
        self._check_fields(fields)
        session = sync_session()
        for batch in _batches(items, batch_size, False, ""):
            session.execute(sa.update(self.model), self._update_rows(batch, fields))
        return len(items)

    def get_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """The row matching ``lookups``, or a new one made from them and ``defaults``."""
        try:
            return self.get(**lookups), False
        except DoesNotExist:
            pass
        session = sync_session()
        try:
            with session.begin_nested():
                return self.create(**_plain(lookups), **(defaults or {})), True
        except sa_exc.IntegrityError:  # created meanwhile by another request
            return self.get(**lookups), False

    def update_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """Update the row matching ``lookups`` with ``defaults``, or create it."""
        obj, created = self.get_or_create(defaults, **lookups)
        if not created and defaults:
            for key, value in defaults.items():
                setattr(obj, key, value)
            obj.save()
        return obj, created

    # --- running: async ------------------------------------------------------------------------
    async def _fetch_all_async(self) -> list[Any]:
        return self._rows(await async_session().execute(self.statement))

    async def alist(self) -> list[M]:
        """``list(qs)`` for async code."""
        return await self._fetch_all_async()

    def __aiter__(self) -> AsyncIterator[M]:
        async def iterate() -> AsyncIterator[M]:
            for row in await self._fetch_all_async():
                yield row

        return iterate()

    async def aget(self, *conditions: Q, **lookups: Any) -> M:
        """``get()`` for async code."""
        rows = await self.filter(*conditions, **lookups)[:2]._fetch_all_async()
        return self._one(rows, lookups)  # type: ignore[no-any-return]

    async def afirst(self) -> M | None:
        """``first()`` for async code."""
        rows = await self._ordered()[:1]._fetch_all_async()
        return rows[0] if rows else None

    async def alast(self) -> M | None:
        """``last()`` for async code."""
        rows = await self._reversed()[:1]._fetch_all_async()
        return rows[0] if rows else None

    async def aexists(self) -> bool:
        """``exists()`` for async code."""
        return bool(await async_session().scalar(sa.select(sa.exists(self._exists_query()))))

    async def acount(self) -> int:
        """``count()`` for async code."""
        return int(await async_session().scalar(self._count_query()) or 0)

    async def aaggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """``aggregate()`` for async code."""
        row = (await async_session().execute(self._aggregate_query(aggregates))).one()
        return dict(row._mapping)

    async def acreate(self, **values: Any) -> M:
        """``create()`` for async code."""
        obj = self.model(**values)
        await obj.asave()
        return obj

    async def aupdate(self, **values: Any) -> int:
        """``update()`` for async code."""
        result = await async_session().execute(self._update_query(values))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def adelete(self) -> int:
        """``delete()`` for async code."""
        result = await async_session().execute(self._delete_query())
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def abulk_create(
        self, objects: Iterable[M], batch_size: int = 1000, progress: bool = False
    ) -> list[M]:
        """``bulk_create()`` for async code."""
        items = list(objects)
        session = async_session()
        for batch in _batches(items, batch_size, progress, f"Creating {self.model.__name__}"):
            for obj in batch:
                obj.full_clean()
            session.add_all(batch)
            await session.flush()
        return items

    async def abulk_update(
        self, objects: Iterable[M], fields: Sequence[str], batch_size: int = 1000
    ) -> int:
        """``bulk_update()`` for async code."""
        items = list(objects)
        self._check_fields(fields)
        session = async_session()
        for batch in _batches(items, batch_size, False, ""):
            await session.execute(sa.update(self.model), self._update_rows(batch, fields))
        return len(items)

    async def aget_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """``get_or_create()`` for async code."""
        try:
            return await self.aget(**lookups), False
        except DoesNotExist:
            pass
        session = async_session()
        try:
            async with session.begin_nested():
                return await self.acreate(**_plain(lookups), **(defaults or {})), True
        except sa_exc.IntegrityError:
            return await self.aget(**lookups), False

    async def aupdate_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """``update_or_create()`` for async code."""
        obj, created = await self.aget_or_create(defaults, **lookups)
        if not created and defaults:
            for key, value in defaults.items():
                setattr(obj, key, value)
            await obj.asave()
        return obj, created

    # --- helpers -------------------------------------------------------------------------------
    def _one(self, rows: list[Any], lookups: dict[str, Any]) -> Any:
        if not rows:
            raise DoesNotExist(self.model.__name__, lookups)
        if len(rows) > 1:
            raise MultipleObjectsReturned(
                f"get() found more than one {self.model.__name__}; add filters that match one."
            )
        return rows[0]

    def _ordered(self) -> Self:
        if self._order is None and not self.model._kettle_ordering:
            return self.order_by("pk")
        return self

    def _reversed(self) -> Self:
        order = self._order if self._order is not None else self.model._kettle_ordering
        order = order or ("pk",)
        flipped = tuple(n[1:] if n.startswith("-") else "-" + n for n in order)
        return self.order_by(*flipped)

    def _exists_query(self) -> Any:
        return self.statement.with_only_columns(sa.literal(1)).order_by(None)

    def _count_query(self) -> Any:
        inner = self.statement.order_by(None)
        if self._values is None:
            inner = inner.with_only_columns(*sa.inspect(self.model).primary_key)
        return sa.select(sa.func.count()).select_from(inner.subquery())

    def _aggregate_query(self, aggregates: dict[str, Aggregate]) -> Any:
        ids = self._id_subquery()
        return sa.select(*(a.aggregate(self.model, ids).label(k) for k, a in aggregates.items()))

    def _check_fields(self, names: Iterable[str]) -> None:
        columns = sa.inspect(self.model).columns
        for name in names:
            if name not in columns:
                raise _unknown(self.model, name)

    def _update_query(self, values: dict[str, Any]) -> Any:
        from kettle.db.expressions import F

        self._check_fields(values)
        resolved = {k: v.resolve(self.model) if isinstance(v, F) else v for k, v in values.items()}
        pk = sa.inspect(self.model).primary_key[0]
        stmt = sa.update(self.model).values(resolved)
        if self._where or self._limit is not None:
            stmt = stmt.where(pk.in_(self._id_subquery()))
        return stmt.execution_options(synchronize_session=False)

    def _delete_query(self) -> Any:
        pk = sa.inspect(self.model).primary_key[0]
        stmt = sa.delete(self.model)
        if self._where or self._limit is not None:
            stmt = stmt.where(pk.in_(self._id_subquery()))
        return stmt.execution_options(synchronize_session=False)

    def _update_rows(self, batch: list[Any], fields: Sequence[str]) -> list[dict[str, Any]]:
        pk = str(sa.inspect(self.model).primary_key[0].key)
        return [{pk: getattr(o, pk), **{f: getattr(o, f) for f in fields}} for o in batch]

    def __repr__(self) -> str:
        return f"<QuerySet {self.model.__name__}: {self.statement}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "A QuerySet has no truth value: it would run a query. Use .exists() (or "
            "await .aexists()) to ask whether rows match."
        )


#: ``Model.objects`` is the QuerySet of every row of the model, where queries start.
Manager = QuerySet


def _plain(lookups: dict[str, Any]) -> dict[str, Any]:
    """Lookups usable as constructor values: ``title__iexact`` and the like are dropped."""
    return {k: v for k, v in lookups.items() if "__" not in k}


def _batches(items: list[Any], size: int, progress: bool, label: str) -> Iterator[list[Any]]:
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    if not progress:
        yield from chunks
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for chunk in chunks:
            yield chunk
            bar.advance(task, len(chunk))


__all__ = ["DoesNotExist", "Manager", "MultipleObjectsReturned", "QuerySet"]
