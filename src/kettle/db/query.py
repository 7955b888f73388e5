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

``.statement`` is the SQLAlchemy ``Select`` at any point. Field names given to
``filter``, ``exclude``, ``order_by`` and ``values`` are checked against the model
(``FieldError``, a 400, lists the valid ones), and values are always bound parameters, so
both may come from a query string.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from kettle.db import _fastpath, _statements
from kettle.db._replicas import Route, check_route
from kettle.db._writes import WriteMethods
from kettle.db.aggregates import Aggregate
from kettle.db.expressions import FieldError, Q, negate, resolve_column
from kettle.db.session import UnitOfWork, async_session, current_unit, sync_session
from kettle.exceptions import HTTPException

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kettle.db.models import Model

M = TypeVar("M", bound="Model")
#: The last row an OFFSET or LIMIT can name on every engine.
_LAST_ROW = 2**63 - 1


class DoesNotExist(HTTPException):
    """``get()`` found nothing: a 404 when it escapes a handler::

    article = Article.objects.get(id=id)   # no such article: the client gets a 404
    """

    def __init__(self, model: str, filters: dict[str, Any]) -> None:
        shown = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "the given query"
        super().__init__(404, f"No {model} matches {shown}.")


class MultipleObjectsReturned(Exception):
    """``get()`` matched more than one row; add a filter that picks one::

    Article.objects.get(author=ann)   # ann wrote two: MultipleObjectsReturned
    """


class QuerySet(WriteMethods[M], Generic[M]):
    """A lazy query for ``model`` (see the module docstring)::

    Article.objects.filter(author__username="ann").order_by("-created")[:10]
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._where: list[Any] = []
        self._order: tuple[str, ...] | None = None
        self._annotations: dict[str, Any] = {}
        self._limit: int | None = None
        self._offset: int | None = None
        self._values: tuple[str, ...] | None = None
        self._shape: Literal["objects", "dicts", "tuples", "flat"] = "objects"
        self._loads: list[Any] = []
        #: The ``select_related()`` paths, in order (each made one of ``_loads``).
        self._related: tuple[str, ...] = ()
        self._distinct = False
        self._lock: Literal["update", "share"] | None = None
        #: Where reads run with read replicas: ``using()``; None: Kettle's choice.
        self._using: Route | None = None
        #: The rows ``if qs:`` fetched, for the loop that follows in the same unit of work.
        self._kept: tuple[UnitOfWork, list[Any]] | None = None

    def _clone(self) -> Self:
        # PERF: what copy.copy does for a plain instance, without its reduce protocol.
        cls = type(self)
        clone = cls.__new__(cls)
        clone.__dict__.update(self.__dict__)
        clone._kept = None
        clone._where = list(self._where)
        clone._annotations = dict(self._annotations)
        clone._loads = list(self._loads)
        return clone

    def _clone_as_objects(self) -> QuerySet[M]:
        clone = self._clone()
        clone._values, clone._shape = None, "objects"
        return clone

    def _refuse_if_sliced(self, what: str) -> None:
        if self._limit is not None or self._offset is not None:
            raise TypeError(f"Cannot {what} a QuerySet after slicing it; {what} first.")

    # --- building ----------------------------------------------------------------------
    def all(self) -> Self:
        """A copy of this QuerySet (all rows when called on ``objects``)::

        Article.objects.all()
        """
        return self._clone()

    def filter(self, *conditions: Q, **lookups: Any) -> Self:
        """Rows matching every condition: ``filter(title__icontains="kettle", score__gte=3)``."""
        return self._add_condition(Q(*conditions, **lookups), negate_it=False)

    def exclude(self, *conditions: Q, **lookups: Any) -> Self:
        """Rows not matching the conditions taken together (rows where a compared column
        is NULL stay in)::

            Article.objects.exclude(status=Status.DRAFT)
        """
        return self._add_condition(Q(*conditions, **lookups), negate_it=True)

    def _add_condition(self, q: Q, negate_it: bool) -> Self:
        self._refuse_if_sliced("filter")
        clone = self._clone()
        if q.children:
            condition = q.resolve(self.model, clone._annotations)
            clone._where.append(negate(condition) if negate_it else condition)
        return clone

    def order_by(self, *names: str) -> Self:
        """Sort by columns, annotations or to-one relation paths; ``-name`` is descending::

            Article.objects.order_by("-created", "author__username")

        Names are checked against the model, so a sort key from a query string is safe.
        ``order_by()`` with no names drops any ordering, ``Meta.ordering`` included.
        """
        self._refuse_if_sliced("order")
        # PERF: names checked once per model (without annotations, the check depends on
        # nothing else); a page orders by the same names on every request.
        checked = None if self._annotations else _ORDERS_CHECKED.get(self.model)
        if checked is None or not _known(names, checked):
            for name in names:
                if not isinstance(name, str):
                    raise TypeError(f"order_by() takes field names, not {name!r}.")
                resolve_column(self.model, name.removeprefix("-"), self._annotations)
            if not self._annotations:
                if checked is None:
                    checked = _ORDERS_CHECKED[self.model] = set()
                if len(checked) < _ORDERS_PER_MODEL:
                    checked.add(names)
        clone = self._clone()
        clone._order = names
        return clone

    def annotate(self, **aggregates: Aggregate) -> Self:
        """Add per-row aggregates: ``annotate(votes=Count("votes"))``.

        Each value is in ``obj.annotations[name]``, and an attribute too unless the class
        has that name already: ``annotate(votes=Count("votes"))`` shadows the relation
        ``votes`` in this query (filter, order and values by it) but ``article.votes``
        stays the relation.
        """
        clone = self._clone()
        mapper = sa.inspect(self.model)
        for name, aggregate in aggregates.items():
            if not isinstance(aggregate, Aggregate):
                raise TypeError(f"annotate({name}=...) takes Count, Sum, Avg, Min or Max.")
            if name in mapper.columns or name == "pk" or "__" in name:
                raise FieldError(f"annotate({name}=...) clashes with a column or a lookup path.")
            clone._annotations[name] = aggregate.annotation(self.model).label(name)
        return clone

    def select_related(self, *paths: str) -> Self:
        """Load to-one relations in the same query (a JOIN)::

        Article.objects.select_related("author", "author__profile")
        """
        clone = self._clone()
        clone._loads.extend(self._loader(path, joinedload, to_one=True) for path in paths)
        clone._related = (*self._related, *paths)
        return clone

    def prefetch_related(self, *paths: str) -> Self:
        """Load relations with one extra query each (``SELECT ... IN``)::

        Article.objects.prefetch_related("tags", "votes__user")
        """
        clone = self._clone()
        clone._loads.extend(self._loader(path, selectinload, to_one=False) for path in paths)
        return clone

    def _loader(self, path: str, strategy: Any, to_one: bool) -> Any:
        # PERF: loader options are immutable; one per model, path and strategy is made
        # once (resolving a path costs a few µs a call).
        made = _LOADERS.get(self.model)
        if made is None:
            made = _LOADERS[self.model] = {}
        option = made.get((path, to_one))
        if option is None:
            option = self._make_loader(path, strategy, to_one)
            if len(made) < _ORDERS_PER_MODEL:
                made[(path, to_one)] = option
        return option

    def _make_loader(self, path: str, strategy: Any, to_one: bool) -> Any:
        current: Any = self.model
        option: Any = None
        for part in path.split("__"):
            rel = sa.inspect(current).relationships.get(part)
            if rel is None:
                raise FieldError(
                    f"{current.__name__} has no relation {part!r}. Relations are: "
                    f"{', '.join(sorted(sa.inspect(current).relationships.keys()))}."
                )
            if to_one and rel.uselist:
                raise FieldError(
                    f"select_related({path!r}): {part!r} holds many rows; use prefetch_related."
                )
            attr = getattr(current, part)
            option = strategy(attr) if option is None else getattr(option, strategy.__name__)(attr)
            current = rel.mapper.class_
        return option

    def distinct(self) -> Self:
        """Drop duplicate rows: ``Article.objects.values("author").distinct()``."""
        clone = self._clone()
        clone._distinct = True
        return clone

    def select_for_update(self, *, read: bool = False) -> Self:
        """Lock the matched rows until the unit of work ends (``FOR UPDATE``, or
        ``FOR SHARE`` with ``read=True``; SQLite locks the whole database instead)::

            article = Article.objects.select_for_update().get(id=id)
        """
        clone = self._clone()
        clone._lock = "share" if read else "update"
        return clone

    def using(self, database: str) -> Self:
        """Read from ``"primary"`` or ``"replica"`` whatever the unit of work has done
        (with read replicas configured; without, both name the one database)::

            Account.objects.using("primary").get(id=id)     # never stale
            Report.objects.using("replica").filter(...)     # even after a write

        Without ``using()``, reads go to a replica until the unit of work first writes, and
        to the primary from then on (docs/database.md, "Read replicas").
        """
        clone = self._clone()
        clone._using = check_route(database)
        return clone

    def values(self, *names: str) -> QuerySet[Any]:
        """Rows as dicts of the named fields (all columns and annotations when none are
        named); to-one paths and relation names work::

            Article.objects.values("title", "author__username")
        """
        names = names or (
            *(c.key for c in sa.inspect(self.model).column_attrs),
            *self._annotations,
        )
        for name in names:
            resolve_column(self.model, name, self._annotations)
        clone = self._clone()
        clone._values = names
        clone._shape = "dicts"
        return clone

    def values_list(self, *names: str, flat: bool = False) -> QuerySet[Any]:
        """Rows as tuples; with ``flat=True`` and one name, plain values::

        Tag.objects.order_by("name").values_list("name", flat=True)
        """
        if flat and len(names) != 1:
            raise TypeError("values_list(flat=True) takes exactly one field name.")
        clone = self.values(*names)
        clone._shape = "flat" if flat else "tuples"
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
        base = self._offset or 0
        end = base + self._limit if self._limit is not None else None
        start = base + (key.start or 0)
        stop = base + key.stop if key.stop is not None else None
        if end is not None:
            start = min(start, end)
            stop = end if stop is None else min(stop, end)
        if start > _LAST_ROW:
            # NOTE: no engine numbers rows past 2**63 - 1: the slice is empty, and the
            # number never reaches the driver (an OverflowError or a syntax error there).
            start, stop = 0, 0
        elif stop is not None:
            stop = min(stop, _LAST_ROW)
        clone._offset = start or None
        clone._limit = None if stop is None else max(stop - start, 0)
        return clone

    # --- SQL -----------------------------------------------------------------------------------
    @property
    def statement(self) -> sa.Select[Any]:
        """The SQLAlchemy ``Select`` this QuerySet runs: drop down to it at any point::

        stmt = Article.objects.filter(score__gt=3).statement.limit(5)
        """
        return _statements.select(self)

    def _in_subquery(self) -> Any:
        return _statements.in_subquery(self)

    def _core_rows(self) -> bool:
        """Whether the values() rows may come straight from Core (see _column_rows): not
        when a name repeats, where the ORM labels the second column ``name_1``."""
        names = self._values
        return names is not None and len(set(names)) == len(names)

    def _values_kind(self) -> tuple[str, tuple[str, ...]] | None:
        """``(shape, names)`` of ``values()``/``values_list()`` rows, None for objects."""
        return None if self._values is None else (self._shape, self._values)

    def _shaped(self, rows: list[sa.Row[Any]]) -> list[Any]:
        """``values()``/``values_list()`` rows as dicts, tuples or plain values."""
        if self._shape == "flat":
            return [row[0] for row in rows]
        if self._shape == "tuples":
            return [tuple(row) for row in rows]
        names = self._values
        if names is None or len(set(names)) != len(names):
            # values("a", "a"): SQLAlchemy labels the second column a_1.
            return [dict(row._mapping) for row in rows]
        # PERF: zip with the names (each column is labelled by its name), not
        # dict(row._mapping): a mapping view per row costs ~3 µs more.
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _rows(self, result: Any) -> list[Any]:
        """The model objects of an ORM result (annotations set on each)."""
        if not self._annotations:
            return list(result.unique().scalars().all() if self._loads else result.scalars())
        objects = []
        for row in result.unique().all() if self._loads else result.all():
            obj = row[0]
            values = dict(zip(self._annotations, row[1:], strict=True))
            obj.__dict__["_kettle_annotations"] = values
            for name, value in values.items():
                if not hasattr(self.model, name):  # never hide a relation or a method
                    obj.__dict__[name] = value
            objects.append(obj)
        return objects

    # --- reading: sync -------------------------------------------------------------------------
    def _fetch_all_sync(self) -> list[Any]:
        # PERF: a shape compiled once and run on the driver (kettle.db._fastpath).
        rows = _fastpath.fetch(self)
        if rows is not None:
            return rows
        statement = _statements.select_to_run(self)
        if self._values is None:
            return self._rows(sync_session().execute(statement))
        if self._core_rows():
            return self._shaped(_column_rows(sync_session(), statement))
        return self._shaped(list(sync_session().execute(statement)))

    def __iter__(self) -> Iterator[M]:
        kept = self._kept
        if kept is not None and kept[0] is current_unit():
            return iter(kept[1])
        return iter(self._fetch_all_sync())

    def get(self, *conditions: Q, **lookups: Any) -> M:
        """The one row matching; ``DoesNotExist`` (a 404) or ``MultipleObjectsReturned``::

        Article.objects.get(id=7)
        """
        fast = None if conditions else _statements.get_by_equality(self, lookups)
        rows = None
        if fast is not None:
            rows = _fastpath.fetch_statement(*fast, self._values_kind())
            if rows is None and self._values is None:
                rows = list(sync_session().execute(*fast).scalars())
        if rows is None:
            rows = self.filter(*conditions, **lookups)[:2]._fetch_all_sync()
        return self._one(rows, lookups)  # type: ignore[no-any-return]

    def first(self) -> M | None:
        """The first row (by the ordering, else by primary key), or None::

        Article.objects.order_by("created").first()
        """
        rows = self._ordered()[:1]._fetch_all_sync()
        return rows[0] if rows else None

    def last(self) -> M | None:
        """The last row (by the ordering, else by primary key), or None::

        Article.objects.order_by("created").last()   # the newest
        """
        rows = self._reversed()[:1]._fetch_all_sync()
        return rows[0] if rows else None

    def exists(self) -> bool:
        """Whether any row matches (cheaper than ``count()``)::

        if Vote.objects.filter(article=a, user=u).exists(): ...
        """
        return bool(sync_session().scalar(_statements.exists(self)))

    def count(self) -> int:
        """How many rows match: ``Article.objects.filter(author=ann).count()``."""
        # PERF: compiled once per shape and run on the driver (kettle.db._fastpath).
        counted = _fastpath.fetch_count(self)
        if counted is not None:
            return counted
        return int(sync_session().scalar(_statements.count(self)) or 0)

    def aggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """Values over all matching rows::

        Article.objects.aggregate(total=Sum("score"), votes=Count("votes"))
        """
        row = sync_session().execute(_statements.aggregate(self, aggregates)).one()
        return dict(row._mapping)

    # --- reading: async ------------------------------------------------------------------------
    async def _fetch_all_async(self) -> list[Any]:
        rows = await _fastpath.afetch(self)
        if rows is not None:
            return rows
        statement = _statements.select_to_run(self)
        if self._values is None:
            return self._rows(await async_session().execute(statement))
        if self._core_rows():
            # PERF: values()/values_list() rows as Core rows (see _column_rows), in one
            # hop into SQLAlchemy's greenlet.
            return self._shaped(await async_session().run_sync(_column_rows, statement))
        return self._shaped(list(await async_session().execute(statement)))

    async def alist(self) -> list[M]:
        """``list(qs)`` for async code: ``await Article.objects.filter(...).alist()``."""
        return await self._fetch_all_async()

    def __aiter__(self) -> AsyncIterator[M]:
        async def iterate() -> AsyncIterator[M]:
            for row in await self._fetch_all_async():
                yield row

        return iterate()

    async def aget(self, *conditions: Q, **lookups: Any) -> M:
        """``get()`` for async code: ``await Article.objects.aget(id=7)``."""
        # PERF: get by primary key (or other column=value lookups) on Model.objects runs
        # a statement prepared once per model and lookup names (see get_by_equality).
        fast = None if conditions else _statements.get_by_equality(self, lookups)
        rows = None
        if fast is not None:
            rows = await _fastpath.afetch_statement(*fast, self._values_kind())
            if rows is None and self._values is None:
                rows = list((await async_session().execute(*fast)).scalars())
        if rows is None:
            rows = await self.filter(*conditions, **lookups)[:2]._fetch_all_async()
        return self._one(rows, lookups)  # type: ignore[no-any-return]

    async def afirst(self) -> M | None:
        """``first()`` for async code: ``await Article.objects.afirst()``."""
        rows = await self._ordered()[:1]._fetch_all_async()
        return rows[0] if rows else None

    async def alast(self) -> M | None:
        """``last()`` for async code: ``await Article.objects.alast()``."""
        rows = await self._reversed()[:1]._fetch_all_async()
        return rows[0] if rows else None

    async def aexists(self) -> bool:
        """``exists()`` for async code: ``await qs.aexists()``."""
        return bool(await async_session().scalar(_statements.exists(self)))

    async def acount(self) -> int:
        """``count()`` for async code: ``await qs.acount()``."""
        counted = await _fastpath.afetch_count(self)
        if counted is not None:
            return counted
        return int(await async_session().scalar(_statements.count(self)) or 0)

    async def aaggregate(self, **aggregates: Aggregate) -> dict[str, Any]:
        """``aggregate()`` for async code: ``await qs.aaggregate(n=Count("id"))``."""
        result = await async_session().execute(_statements.aggregate(self, aggregates))
        return dict(result.one()._mapping)

    # --- helpers -------------------------------------------------------------------------------
    def _one(self, rows: list[Any], lookups: dict[str, Any]) -> Any:
        found = self._one_or_none(rows)
        if found is None:
            raise DoesNotExist(self.model.__name__, lookups)
        return found

    def _one_or_none(self, rows: list[Any]) -> Any:
        if len(rows) > 1:
            raise MultipleObjectsReturned(
                f"get() found more than one {self.model.__name__}; add filters that match one."
            )
        return rows[0] if rows else None

    def _ordered(self) -> Self:
        if not _statements.ordering(self):
            return self.order_by("pk")
        return self

    def _reversed(self) -> Self:
        order = _statements.ordering(self) or ("pk",)
        flipped = tuple(n[1:] if n.startswith("-") else "-" + n for n in order)
        return self.order_by(*flipped)

    def __repr__(self) -> str:
        return f"<QuerySet {self.model.__name__}: {self.statement}>"

    def __bool__(self) -> bool:
        """Whether any row matches, so ``if qs:`` and ``{% if questions %}`` work::

        articles = Article.objects.filter(score__gt=5)
        if articles:                     # fetches the rows (in sync code and templates)
            for a in articles: ...       # ...and this loop reuses them: one query

        The rows are kept for the current unit of work only (the next request queries
        afresh), and never on ``Model.objects`` itself. Async code cannot run a query
        here; it gets a ``TypeError`` that shows ``await qs.aexists()`` and
        ``await qs.alist()``. To ask without fetching rows, use ``qs.exists()``.
        """
        caller = inspect.currentframe()
        caller = caller.f_back if caller is not None else None
        if caller is not None and caller.f_code.co_flags & _ASYNC_CODE:
            raise TypeError(
                f"`if` on a QuerySet of {self.model.__name__} in async code would have to "
                "block on a query. Ask the database with `await qs.aexists()`, or fetch the "
                "rows first, `rows = await qs.alist()`, and test (and pass to templates) "
                "the list."
            )
        if self is self.model.__dict__.get("objects"):
            return bool(self.exists())  # shared by every request: keeps nothing
        unit = current_unit()
        kept = self._kept
        if kept is None or kept[0] is not unit:
            kept = self._kept = (unit, self._fetch_all_sync())
        return bool(kept[1])


_ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _known(names: tuple[Any, ...], checked: set[tuple[str, ...]]) -> bool:
    try:
        return names in checked
    except TypeError:  # an unhashable name: order_by() refuses it with its own message
        return False


#: Per model, the ``order_by()`` name tuples already checked (without annotations).
_ORDERS_CHECKED: weakref.WeakKeyDictionary[type, set[tuple[str, ...]]] = weakref.WeakKeyDictionary()
#: Per model, the loader options made by ``select_related``/``prefetch_related``, by
#: (path, to-one).
_LOADERS: weakref.WeakKeyDictionary[type, dict[tuple[str, bool], Any]] = weakref.WeakKeyDictionary()
#: Names and paths can come from a query string: each memo above is bounded per model.
_ORDERS_PER_MODEL = 256


def _column_rows(session: Session, statement: sa.Select[Any]) -> list[sa.Row[Any]]:
    """The rows of a ``values()`` statement, run on the session's connection (its
    transaction) after the flush ``Session.execute`` would make.

    PERF: a statement of columns only needs none of the ORM's execution: no compile
    state for loading, no identity map, no objects. ``Session.execute`` would still set
    all of that up (~60 µs for a dozen rows); the SQL is the same, compiled from the
    same cache, and each value goes through the same type's result processor.
    """
    if session.autoflush:  # False inside `with session.no_autoflush:`, as for execute()
        session.flush()  # returns at once when nothing is pending
    bind = {"clause": statement}  # a read: on a replica until the unit writes (_replicas)
    return list(session.connection(bind).execute(statement).all())


#: ``Model.objects`` is the QuerySet of every row of the model, where queries start.
Manager = QuerySet


__all__ = ["DoesNotExist", "Manager", "MultipleObjectsReturned", "QuerySet"]
