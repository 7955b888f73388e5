"""How one model's rows become fixture objects and back (``kettle.db.fixtures`` drives it).

A ``ModelPlan`` is read once per model from its mapper: the primary key, its own
columns, the many-to-one relations (written under the relation's name) and the writable
many-to-many links of the side that declares them, and ``Meta.natural_key``. A
``Loader`` holds what one load has found or made, so that references resolve to objects
of the same fixture first and to rows of the database after.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import MANYTOMANY, MANYTOONE

from kettle.db._fixture_values import from_json, to_json
from kettle.db._mapping import meta_of
from kettle.db.models import Model


class FixtureError(ValueError):
    """A fixture could not be dumped or loaded; the message names the file, the object
    (counted from 1) and the field, and nothing was loaded::

        try:
            load_files(db, ["users.json"])
        except FixtureError as error:
            print(error)   # users.json, object 3 (auth_user), field 'groups': no ...
    """


@dataclass(frozen=True, slots=True)
class Item:
    """One object of a fixture, with where it came from."""

    source: str
    index: int
    raw: Any

    def where(self) -> str:
        return f"{self.source}, object {self.index}"

    def model_name(self) -> str:
        name = self.raw.get("model") if isinstance(self.raw, dict) else None
        if not isinstance(name, str):
            shown = repr(self.raw)
            raise FixtureError(
                f'{self.where()}: an object needs "model" (a table name) and "fields" '
                f"(a mapping); got {shown[:80]}{'...' if len(shown) > 80 else ''}."
            )
        return name

    def fields(self) -> dict[str, Any]:
        fields = self.raw.get("fields", {})
        if not isinstance(fields, dict):
            raise self.error(None, f'"fields" must be a mapping of field names, not {fields!r}')
        return fields

    def error(self, name: str | None, message: str) -> FixtureError:
        model = self.raw.get("model")
        at = f", field {name!r}" if name is not None else ""
        return FixtureError(f"{self.where()} ({model}){at}: {message}.")


@dataclass(frozen=True)
class ModelPlan:
    """What a fixture holds of one model (see the module docstring)."""

    model: type[Model]
    table: str
    pk: str
    pk_column: sa.Column[Any]
    columns: dict[str, sa.Column[Any]]
    #: Many-to-one relation name -> (target model, the attribute holding its id).
    relations: dict[str, tuple[type[Model], str]]
    #: Many-to-many link name -> target model.
    links: dict[str, type[Model]]
    natural_key: tuple[str, ...]

    @property
    def field_names(self) -> list[str]:
        return [*self.columns, *self.relations, *self.links]

    # --- dumping ----------------------------------------------------------------------------
    def dump(self, session: Session, keys: KeyCache) -> list[dict[str, Any]]:
        """Every row, by primary key, as ``{"model", "pk", "fields"}``."""
        # By natural key where there is one: its ids are the database's own business.
        order = [self.columns[name] for name in self.natural_key] or [self.pk_column]
        statement = sa.select(self.model).order_by(*order)
        for name in self.links:
            statement = statement.options(selectinload(getattr(self.model, name)))
        out = []
        for obj in session.scalars(statement):
            fields = {name: to_json(getattr(obj, name)) for name in self.columns}
            for name, (target, attribute) in self.relations.items():
                fields[name] = keys.of_id(session, target, getattr(obj, attribute))
            for name, target in self.links.items():
                related = sorted(getattr(obj, name), key=plan_for(target).order_of)
                fields[name] = [plan_for(target).key_of(other) for other in related]
            item: dict[str, Any] = {"model": self.table}
            if not self.natural_key:
                item["pk"] = to_json(getattr(obj, self.pk))
            item["fields"] = fields
            out.append(item)
        return out

    def order_of(self, obj: Model) -> tuple[Any, ...]:
        """Where ``obj`` goes in a dumped list of links: by natural key, else by id."""
        return tuple(getattr(obj, name) for name in self.natural_key or (self.pk,))

    def key_of(self, obj: Model) -> Any:
        """How a reference names ``obj``: its natural key, else its id."""
        if self.natural_key:
            return [to_json(getattr(obj, name)) for name in self.natural_key]
        return to_json(getattr(obj, self.pk))

    # --- loading ----------------------------------------------------------------------------
    def convert(self, item: Item, name: str, column: sa.Column[Any], raw: Any) -> Any:
        try:
            return from_json(column, raw)
        except ValueError as error:
            raise item.error(name, str(error)) from None


@dataclass
class KeyCache:
    """Natural keys by id, one query per referenced model (for dumping references)."""

    maps: dict[type[Model], dict[Any, Any]] = field(default_factory=dict)

    def of_id(self, session: Session, target: type[Model], id_: Any) -> Any:
        if id_ is None:
            return None
        plan = plan_for(target)
        if not plan.natural_key:
            return to_json(id_)
        if target not in self.maps:
            columns = [getattr(target, name) for name in plan.natural_key]
            rows = session.execute(sa.select(getattr(target, plan.pk), *columns))
            self.maps[target] = {row[0]: [to_json(v) for v in row[1:]] for row in rows}
        return self.maps[target][id_]


@dataclass
class Loader:
    """The objects one load has found or made, by natural key and by id."""

    session: Session
    found: dict[tuple[type[Model], str, Any], Model] = field(default_factory=dict)
    #: Models given rows with explicit ids (PostgreSQL's sequences must move past them).
    explicit_ids: set[type[Model]] = field(default_factory=set)

    def prepare(self, plan: ModelPlan, item: Item) -> tuple[Model, list[Link]]:
        """Find (or make) the object of ``item`` and set its own columns; its relations
        are returned, to be set once every object of the fixture exists."""
        fields = item.fields()
        for name in fields:
            if name not in plan.columns and name not in plan.relations and name not in plan.links:
                raise item.error(
                    name, f"no such field; {plan.table} has: {', '.join(plan.field_names)}"
                )
        obj = self._identify(plan, item, fields)
        links: list[Link] = []
        for name, raw in fields.items():
            if name in plan.columns:
                setattr(obj, name, plan.convert(item, name, plan.columns[name], raw))
            elif name in plan.relations:
                links.append(Link(item, name, plan.relations[name][0], raw, many=False))
            else:
                if not isinstance(raw, list):
                    raise item.error(name, f"a many-to-many link is a list of keys, not {raw!r}")
                links.append(Link(item, name, plan.links[name], raw, many=True))
        return obj, links

    def _identify(self, plan: ModelPlan, item: Item, fields: dict[str, Any]) -> Model:
        model = plan.model
        pk = item.raw.get("pk")
        if pk is not None:
            pk = plan.convert(item, "pk", plan.pk_column, pk)
        obj: Model | None = None
        values: tuple[Any, ...] = ()
        if plan.natural_key:
            missing = [name for name in plan.natural_key if fields.get(name) is None]
            if missing:
                raise item.error(
                    missing[0], f"{plan.table} is named by its natural key, so it is required"
                )
            values = tuple(
                plan.convert(item, n, plan.columns[n], fields[n]) for n in plan.natural_key
            )
            obj = self.found.get((model, "key", values))
            if obj is None:
                obj = self._by_key(plan, values, item, None)
        elif pk is not None:
            obj = self.found.get((model, "id", pk))
            if obj is None:
                obj = self.session.get(model, pk)
        if obj is None:
            obj = model()
            if pk is not None:
                setattr(obj, plan.pk, pk)
                self.explicit_ids.add(model)
            self.session.add(obj)
        if values:
            self.found[(model, "key", values)] = obj
        known = getattr(obj, plan.pk, None)
        if known is not None:
            self.found[(model, "id", known)] = obj
        return obj

    def _by_key(
        self, plan: ModelPlan, values: tuple[Any, ...], item: Item, name: str | None
    ) -> Model | None:
        conditions = [
            getattr(plan.model, n) == v for n, v in zip(plan.natural_key, values, strict=True)
        ]
        rows = self.session.scalars(sa.select(plan.model).where(*conditions).limit(2)).all()
        if len(rows) > 1:
            raise item.error(
                name,
                f"the natural key {list(values)!r} matches several {plan.table} rows; "
                "Meta.natural_key must name columns that are unique together",
            )
        return rows[0] if rows else None

    def resolve(self, item: Item, name: str, target: type[Model], raw: Any) -> Model:
        """The object a reference names: one of this load's, else a row of the database."""
        plan = plan_for(target)
        if plan.natural_key and isinstance(raw, list):
            if len(raw) != len(plan.natural_key):
                raise item.error(
                    name,
                    f"a {plan.table} natural key has {len(plan.natural_key)} value(s) "
                    f"({', '.join(plan.natural_key)}), not {raw!r}",
                )
            values = tuple(
                plan.convert(item, name, plan.columns[n], v)
                for n, v in zip(plan.natural_key, raw, strict=True)
            )
            obj = self.found.get((target, "key", values))
            if obj is None:
                obj = self._by_key(plan, values, item, name)
            if obj is None:
                raise item.error(name, f"no {plan.table} has the natural key {raw!r}")
            return obj
        try:
            id_ = from_json(plan.pk_column, raw)
        except ValueError:
            named = (
                " or its natural key [" + ", ".join(plan.natural_key) + "]"
                if plan.natural_key
                else ""
            )
            raise item.error(
                name, f"expected the id of a {plan.table} row{named}, got {raw!r}"
            ) from None
        obj = self.found.get((target, "id", id_))
        if obj is None:
            obj = self.session.get(target, id_)
        if obj is None:
            raise item.error(name, f"no {plan.table} has the id {raw!r}")
        return obj

    def move_sequences(self) -> None:
        """On PostgreSQL, move each id sequence past the ids loaded (other engines do)."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for model in self.explicit_ids:
            table = model.__table__
            plan = plan_for(model)
            quoted = self.session.get_bind().dialect.identifier_preparer.format_table(table)
            top = sa.func.max(plan.pk_column)
            sequence = sa.func.pg_get_serial_sequence(quoted, plan.pk_column.name)
            self.session.execute(
                sa.select(
                    sa.func.setval(sequence, sa.func.coalesce(top, 1), top.is_not(None))
                ).select_from(table)
            )


@dataclass(frozen=True, slots=True)
class Link:
    """A relation of a loaded object, set once every object of the fixture exists."""

    item: Item
    name: str
    target: type[Model]
    raw: Any
    many: bool

    def apply(self, loader: Loader, obj: Model) -> None:
        if self.many:
            setattr(
                obj,
                self.name,
                [loader.resolve(self.item, self.name, self.target, raw) for raw in self.raw],
            )
        elif self.raw is None:
            setattr(obj, self.name, None)
        else:
            setattr(obj, self.name, loader.resolve(self.item, self.name, self.target, self.raw))


@functools.cache
def plan_for(model: type[Model]) -> ModelPlan:
    """The ``ModelPlan`` of ``model`` (read once); a bad ``Meta.natural_key`` is refused::

    plan_for(Article).relations   # {"author": (User, "author_id")}
    """
    mapper = sa.inspect(model)
    table = model.__table__
    assert isinstance(table, sa.Table)
    primary = list(table.primary_key.columns)
    if len(primary) != 1:
        raise FixtureError(
            f"{model.__name__}: fixtures need a single-column primary key; {table.name} has "
            f"{len(primary)}."
        )
    relations: dict[str, tuple[type[Model], str]] = {}
    links: dict[str, type[Model]] = {}
    held: set[sa.ColumnElement[Any]] = set()
    for rel in mapper.relationships:
        if rel.viewonly:
            continue
        if rel.direction is MANYTOONE:
            column = next(iter(rel.local_columns))
            relations[rel.key] = (rel.mapper.class_, mapper.get_property_by_column(column).key)
            held.update(rel.local_columns)
        elif rel.direction is MANYTOMANY and (rel.backref is not None or not rel.back_populates):
            links[rel.key] = rel.mapper.class_
    pk = mapper.get_property_by_column(primary[0]).key
    columns: dict[str, sa.Column[Any]] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if not isinstance(column, sa.Column) or column.table is not table:
            continue
        if column is not primary[0] and column not in held:
            columns[prop.key] = column
    natural = _natural_key(model, table.name, columns)
    return ModelPlan(model, table.name, pk, primary[0], columns, relations, links, natural)


def _natural_key(model: type[Model], table: str, columns: dict[str, Any]) -> tuple[str, ...]:
    declared = getattr(meta_of(model), "natural_key", ())
    if isinstance(declared, str) or not all(isinstance(n, str) for n in declared):
        raise FixtureError(
            f"{model.__name__}.Meta.natural_key must be a tuple of column names, as in "
            f'natural_key = ("username",); got {declared!r}.'
        )
    for name in declared:
        if name not in columns:
            raise FixtureError(
                f"{model.__name__}.Meta.natural_key names {name!r}, which is not a column of "
                f"{table} (relations and the primary key cannot be part of it). Columns: "
                f"{', '.join(columns)}."
            )
    return tuple(declared)


__all__ = ["FixtureError", "Item", "KeyCache", "Link", "Loader", "ModelPlan", "plan_for"]
