"""The QuerySet's writing methods (create, update, delete, bulk and get-or-create, each
sync and async) and the checks and rows they share.

``QuerySet`` inherits them from ``WriteMethods``; the naming rule of ``kettle.db.query``
holds here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import RelationshipDirection
from sqlalchemy.orm.attributes import set_committed_value

from kettle.db import _statements
from kettle.db.expressions import F, _unknown
from kettle.db.fields import info_of, now
from kettle.db.models import ModelValidationError, ProtectedError, check_value, delete_guard
from kettle.db.session import async_session, sync_session

if TYPE_CHECKING:
    from kettle.db.models import Model
    from kettle.db.query import QuerySet

M = TypeVar("M", bound="Model")


class WriteMethods(Generic[M]):
    """The writing half of ``QuerySet`` (see its methods there)."""

    def _as_queryset(self) -> QuerySet[M]:
        # NOTE: WriteMethods is mixed into QuerySet only; this tells the type checker.
        return cast("QuerySet[M]", self)

    # --- sync ----------------------------------------------------------------------------------
    def create(self, **values: Any) -> M:
        """Validate, insert and return a new row: ``Tag.objects.create(name="python")``."""
        qs = self._as_queryset()
        obj = qs.model(**values)
        try:
            obj.save()
        except ModelValidationError:
            _discard(obj)
            raise
        return obj

    def update(self, **values: Any) -> int:
        """Set columns on every matching row in one UPDATE; returns the row count.
        Values are validated like ``save()``; ``auto_now`` timestamps are set too::

            Article.objects.filter(id=7).update(score=F("score") + 1)
        """
        qs = self._as_queryset()
        stmt = _statements.update(qs, update_values(qs.model, values))
        return _rowcount(sync_session().execute(stmt))

    def delete(self) -> int:
        """Delete every matching row in one DELETE (the database applies ON DELETE);
        returns the count, or raises ``ProtectedError`` (a 409) if a link refuses::

            Article.objects.filter(status=Status.DRAFT).delete()
        """
        qs = self._as_queryset()
        session = sync_session()
        stmt = _statements.delete(qs)
        if not delete_guard(qs.model):
            return _rowcount(session.execute(stmt))
        try:
            with session.begin_nested():
                return _rowcount(session.execute(stmt))
        except sa_exc.IntegrityError as error:
            raise _protected(qs.model) from error

    def bulk_create(
        self, objects: Iterable[M], batch_size: int = 1000, progress: bool = False
    ) -> list[M]:
        """Validate every object, then insert them in batches; ``progress=True`` shows a
        bar::

            Tag.objects.bulk_create([Tag(name=n) for n in names])
        """
        qs = self._as_queryset()
        items = _validated(objects)
        session = sync_session()
        for batch in batches(items, batch_size, progress, _label(qs.model)):
            session.add_all(batch)
            session.flush()
        return items

    def bulk_update(
        self, objects: Iterable[M], fields: Sequence[str], batch_size: int = 1000
    ) -> int:
        """Write ``fields`` of saved objects back, one UPDATE per batch; returns the count::

        for a in articles:
            a.score = 0
        Article.objects.bulk_update(articles, ["score"])
        """
        qs = self._as_queryset()
        keys = check_fields(qs.model, fields)
        items = list(objects)
        stmt, rows = bulk_update(qs.model, items, keys)
        # NOTE: a Core executemany on the unit of work's connection: the ORM's own bulk
        # UPDATE would first flush each object, then expire what it wrote.
        connection = sync_session().connection()
        for batch in batches(rows, batch_size, False, ""):
            connection.execute(stmt, batch)
        mark_saved(qs.model, items, keys)
        return len(items)

    def get_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """The row matching ``lookups``, or a new one made from them and ``defaults``;
        ``(obj, created)``. Safe when two requests race (a unique constraint decides)::

            tag, created = Tag.objects.get_or_create(name="python")
        """
        qs = self._as_queryset()
        found = qs._one_or_none(qs.filter(**lookups)[:2]._fetch_all_sync())
        if found is not None:
            return found, False
        session = sync_session()
        try:
            with session.begin_nested():
                return qs.create(**_new_values(qs.model, lookups, defaults)), True
        except sa_exc.IntegrityError:
            rows = _race_winner(qs, lookups)._fetch_all_sync()
            if not rows:
                raise  # not a race: the new row itself was refused
            return rows[0], False

    def update_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """Update the row matching ``lookups`` with ``defaults`` (locked while doing so),
        or create it; ``(obj, created)``::

            Profile.objects.update_or_create(user=ann, defaults={"bio": "Hi"})
        """
        qs = self._as_queryset()
        locked = qs.select_for_update().filter(**lookups)[:2]
        obj = qs._one_or_none(locked._fetch_all_sync())
        if obj is None:
            obj, created = qs.get_or_create(defaults, **lookups)
            if created:
                return obj, True
        for key, value in (defaults or {}).items():
            setattr(obj, key, value)
        obj.save()
        return obj, False

    # --- async ---------------------------------------------------------------------------------
    async def acreate(self, **values: Any) -> M:
        """``create()`` for async code: ``await Tag.objects.acreate(name="python")``."""
        qs = self._as_queryset()
        obj = qs.model(**values)
        try:
            await obj.asave()
        except ModelValidationError:
            _discard(obj)
            raise
        return obj

    async def aupdate(self, **values: Any) -> int:
        """``update()`` for async code: ``await qs.aupdate(score=F("score") + 1)``."""
        qs = self._as_queryset()
        stmt = _statements.update(qs, update_values(qs.model, values))
        return _rowcount(await async_session().execute(stmt))

    async def adelete(self) -> int:
        """``delete()`` for async code: ``await qs.adelete()``."""
        qs = self._as_queryset()
        session = async_session()
        stmt = _statements.delete(qs)
        if not delete_guard(qs.model):
            return _rowcount(await session.execute(stmt))
        try:
            async with session.begin_nested():
                return _rowcount(await session.execute(stmt))
        except sa_exc.IntegrityError as error:
            raise _protected(qs.model) from error

    async def abulk_create(
        self, objects: Iterable[M], batch_size: int = 1000, progress: bool = False
    ) -> list[M]:
        """``bulk_create()`` for async code: ``await Tag.objects.abulk_create(tags)``."""
        qs = self._as_queryset()
        items = _validated(objects)
        session = async_session()
        for batch in batches(items, batch_size, progress, _label(qs.model)):
            session.add_all(batch)
            await session.flush()
        return items

    async def abulk_update(
        self, objects: Iterable[M], fields: Sequence[str], batch_size: int = 1000
    ) -> int:
        """``bulk_update()`` for async code: ``await qs.abulk_update(items, ["score"])``."""
        qs = self._as_queryset()
        keys = check_fields(qs.model, fields)
        items = list(objects)
        stmt, rows = bulk_update(qs.model, items, keys)
        connection = await async_session().connection()
        for batch in batches(rows, batch_size, False, ""):
            await connection.execute(stmt, batch)
        mark_saved(qs.model, items, keys)
        return len(items)

    async def aget_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """``get_or_create()`` for async code: ``await Tag.objects.aget_or_create(name=n)``."""
        qs = self._as_queryset()
        found = qs._one_or_none(await qs.filter(**lookups)[:2]._fetch_all_async())
        if found is not None:
            return found, False
        session = async_session()
        try:
            async with session.begin_nested():
                return await qs.acreate(**_new_values(qs.model, lookups, defaults)), True
        except sa_exc.IntegrityError:
            rows = await _race_winner(qs, lookups)._fetch_all_async()
            if not rows:
                raise
            return rows[0], False

    async def aupdate_or_create(
        self, defaults: dict[str, Any] | None = None, **lookups: Any
    ) -> tuple[M, bool]:
        """``update_or_create()`` for async code."""
        qs = self._as_queryset()
        locked = qs.select_for_update().filter(**lookups)[:2]
        obj = qs._one_or_none(await locked._fetch_all_async())
        if obj is None:
            obj, created = await qs.aget_or_create(defaults, **lookups)
            if created:
                return obj, True
        for key, value in (defaults or {}).items():
            setattr(obj, key, value)
        await obj.asave()
        return obj, False


# --- shared pieces ---------------------------------------------------------------------------
def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _protected(model: Any) -> ProtectedError:
    return ProtectedError(f"these {model.__name__} rows", delete_guard(model))


def _discard(obj: Any) -> None:
    """Unlink a refused new object from the related objects it was given: the ORM put it
    in their reverse lists (``user.articles``), and would warn about it on every flush."""
    state = sa.inspect(obj)
    for rel in state.mapper.relationships:
        if rel.key in state.dict:
            # Backrefs remove it from the other side without loading anything.
            setattr(obj, rel.key, [] if rel.uselist else None)


def _validated(objects: Iterable[Any]) -> list[Any]:
    items = list(objects)
    for obj in items:
        obj.full_clean()
    return items


def _label(model: Any) -> str:
    return f"Creating {model.__name__} rows"


def _new_values(
    model: Any, lookups: dict[str, Any], defaults: dict[str, Any] | None
) -> dict[str, Any]:
    return {**plain(model, lookups), **(defaults or {})}


def _race_winner(qs: QuerySet[M], lookups: dict[str, Any]) -> QuerySet[M]:
    # A locking read sees the row the other transaction committed; a plain read would
    # not under MariaDB's REPEATABLE READ (its snapshot predates that row).
    return qs.filter(**lookups).order_by().select_for_update(read=True)[:1]


def writable(model: Any, name: str) -> str:
    """The column key that ``name`` writes: a column, or a to-one relation's foreign key."""
    mapper = sa.inspect(model)
    if name == "pk":
        return str(mapper.primary_key[0].key)
    if name in mapper.columns:
        return name
    rel = mapper.relationships.get(name)
    if rel is not None and rel.direction is RelationshipDirection.MANYTOONE:
        return str(mapper.get_property_by_column(next(iter(rel.local_columns))).key)
    raise _unknown(model, name)


def update_values(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``update()``'s keyword arguments as checked column values (F resolved, related
    objects as their ids); a value its field refuses raises ``ModelValidationError``."""
    if not values:
        raise TypeError("update() needs at least one field=value pair.")
    mapper = sa.inspect(model)
    resolved: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        key = writable(model, name)
        if isinstance(value, F):
            resolved[key] = value.resolve(model)
            continue
        if hasattr(value, "__table__"):
            identity = sa.inspect(value).identity
            if identity is None:
                raise ValueError(f"update({name}=...): {value!r} is not saved yet.")
            value = identity[0]
        column = mapper.columns[key]
        info = info_of(column)
        if info is not None and not isinstance(value, sa.ColumnElement):
            problems = check_value(column, info, value)
            if problems:
                errors[info.relation or name] = problems
        resolved[key] = value
    if errors:
        raise ModelValidationError(model.__name__, errors)
    return resolved


def auto_now_keys(model: Any) -> list[str]:
    """Attribute keys of the ``auto_now`` timestamps of ``model``."""
    return [c.key for c in model.__table__.columns if (i := info_of(c)) is not None and i.auto_now]


def bulk_update(model: Any, batch: list[Any], keys: Sequence[str]) -> tuple[Any, list[Any]]:
    """The UPDATE (by primary key) and its parameter rows for ``bulk_update()``; checks
    the written fields first and stamps ``auto_now`` timestamps (on the objects too)."""
    mapper = sa.inspect(model)
    pk = mapper.primary_key[0]
    stamped = [key for key in auto_now_keys(model) if key not in keys]
    written = [*keys, *stamped]
    stmt = (
        sa.update(model.__table__)
        .where(pk == sa.bindparam("_kettle_pk", type_=pk.type))
        .values(
            {
                mapper.columns[key].name: sa.bindparam(
                    f"_kettle_{key}", type_=mapper.columns[key].type
                )
                for key in written
            }
        )
    )
    pk_key = mapper.get_property_by_column(pk).key
    stamp = now()
    rows = []
    errors: dict[str, list[str]] = {}
    for obj in batch:
        if sa.inspect(obj).key is None:
            raise ValueError(f"bulk_update() got {obj!r}, which is not saved yet; save it first.")
        for key in stamped:
            setattr(obj, key, stamp)
        for name, problems in obj.validation_errors(keys).items():
            errors.setdefault(name, []).extend(problems)
        row = {f"_kettle_{key}": getattr(obj, key) for key in written}
        rows.append({"_kettle_pk": getattr(obj, pk_key), **row})
    if errors:
        raise ModelValidationError(model.__name__, errors)
    return stmt, rows


def mark_saved(model: Any, batch: list[Any], fields: Sequence[str]) -> None:
    """After a bulk UPDATE, the written values are what the database holds: not pending."""
    for obj in batch:
        for key in {*fields, *auto_now_keys(model)}:
            set_committed_value(obj, key, obj.__dict__.get(key))


def check_fields(model: Any, fields: Iterable[str]) -> list[str]:
    """``bulk_update()``'s field names as column keys; unknown names raise FieldError."""
    keys = [writable(model, name) for name in fields]
    if not keys:
        raise TypeError("bulk_update() needs the names of the fields to write.")
    return keys


def plain(model: Any, lookups: dict[str, Any]) -> dict[str, Any]:
    """Lookups usable as constructor values: ``title__exact`` becomes ``title``, ``pk`` the
    primary key, and ``title__iexact`` and other lookups are dropped."""
    values = {}
    for key, value in lookups.items():
        name = key.removesuffix("__exact")
        if name == "pk":
            name = str(sa.inspect(model).primary_key[0].key)
        if "__" not in name:
            values[name] = value
    return values


def batches(items: list[Any], size: int, progress: bool, label: str) -> Iterator[list[Any]]:
    """``items`` in lists of ``size``; ``progress=True`` shows a bar on the terminal."""
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, got {size}.")
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


__all__ = [
    "WriteMethods",
    "auto_now_keys",
    "batches",
    "bulk_update",
    "check_fields",
    "mark_saved",
    "plain",
    "update_values",
    "writable",
]
