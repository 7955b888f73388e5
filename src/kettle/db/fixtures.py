"""Fixtures: rows as JSON, to seed a database or a test (``kettle db dump`` / ``load``).

::

    data = dump(db, [Group, User, Article])     # list of {"model", "pk", "fields"}
    load(db, data)                               # in one transaction; returns the count
    load_files(db, ["fixtures/users.json"])

A model is named by its table (``"auth_user"``, ``"article"``). A foreign key is written
under the relation's name as the id of the row it points at, or as its natural key when
that model declares one; a many-to-many link is the list of them::

    class Group(Model):
        name: str = fields.string(max_length=150, unique=True)

        class Meta:
            natural_key = ("name",)      # unique columns that name a row anywhere

    {"model": "auth_group", "fields": {"name": "editor"}}      # no "pk": named by "name"
    {"model": "auth_user", "fields": {"username": "ann", "groups": [["editor"]]}}

Loading updates the row with the same natural key (or primary key) and inserts the rest,
relations in dependency order. Bad input raises ``FixtureError`` naming the file, the
object and the field, and loads nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from kettle.db import session as units
from kettle.db._fixture_plans import FixtureError, Item, KeyCache, Loader, ModelPlan, plan_for
from kettle.db.database import Database
from kettle.db.models import Model

ModelRef = type[Model] | str


def dump(db: Database, models: Iterable[ModelRef] | None = None) -> list[dict[str, Any]]:
    """The rows of ``models`` (classes or table names; default: every model whose table
    the database has), parents before children, each model's rows by primary key::

        dump(db, ["auth_group", "auth_user"])
        # [{"model": "auth_group", "fields": {"name": "editor"}}, ...]
    """
    with _unit(db) as session:
        keys = KeyCache()
        out: list[dict[str, Any]] = []
        for plan in _plans(db, session, models):
            out.extend(plan.dump(session, keys))
        return out


def load(db: Database, data: Any, *, source: str = "fixture") -> int:
    """Write the objects of ``data`` (what ``dump`` returns, or the JSON of a file) in one
    transaction; returns how many. ``source`` names the data in error messages::

        load(db, [{"model": "auth_group", "fields": {"name": "editor"}}])   # 1

    Inside a unit of work (a request, ``db.session()``, the test fixture ``db``), it is
    part of that unit, in a savepoint of its own.
    """
    return _load(db, _items(data, source))


def load_files(db: Database, paths: Iterable[str | Path]) -> int:
    """``load`` the JSON files at ``paths`` together, in one transaction (one file may
    refer to another's rows)::

        load_files(db, ["fixtures/groups.json", "fixtures/users.json"])
    """
    items: list[Item] = []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise FixtureError(f"{name}: cannot read it ({error.strerror}).") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise FixtureError(
                f"{name}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}."
            ) from None
        items.extend(_items(data, name))
    return _load(db, items)


def models_of(db: Database, session: Session) -> list[type[Model]]:
    """Every model of ``db``'s metadata whose table the database has, parents first::

    [m.__tablename__ for m in models_of(db, session)]   # ["auth_group", "auth_user", ...]
    """
    have = set(sa.inspect(session.connection()).get_table_names())
    by_table = _models_by_table(db)
    order = [table.name for table in db.metadata.sorted_tables]
    return [by_table[name] for name in order if name in by_table and name in have]


# --- internals -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _unit(db: Database) -> Iterator[Session]:
    """The current unit of work's session (in a savepoint), else a unit of our own."""
    try:
        unit = units.current_unit()
    except units.NoUnitOfWork:
        unit = None
    if unit is None or unit.database is not db:
        with db.session() as session:
            yield session
        return
    session = units.sync_session()
    with session.begin_nested():
        yield session


def _models_by_table(db: Database) -> dict[str, type[Model]]:
    """Every model by table name: the database's own, then those of other metadata
    (models kept apart, as tests do) whose table names are not taken."""
    mine = set(db.metadata.tables.values())
    found: dict[str, type[Model]] = {}
    for mapper in sorted(Model.registry.mappers, key=lambda m: m.local_table not in mine):
        table = mapper.local_table
        if isinstance(table, sa.Table):
            found.setdefault(table.name, mapper.class_)
    return found


def _plans(db: Database, session: Session, models: Iterable[ModelRef] | None) -> list[ModelPlan]:
    if models is None:
        return [plan_for(model) for model in models_of(db, session)]
    by_table = _models_by_table(db)
    chosen = {
        (_named(by_table, model, "dump") if isinstance(model, str) else model): None
        for model in models
    }
    tables = {model.__table__: model for model in chosen}
    ordered = sa.schema.sort_tables([t for t in tables if isinstance(t, sa.Table)])
    return [plan_for(tables[table]) for table in ordered]


def _named(by_table: Mapping[str, type[Model]], name: str, where: str) -> type[Model]:
    if name in by_table:
        return by_table[name]
    hint = next((t for t, m in by_table.items() if m.__name__ == name), None)
    advice = (
        f"Models are named by their table: the table name {hint!r}."
        if hint
        else f"Models are named by their table; known: {', '.join(sorted(by_table))}."
    )
    raise FixtureError(f"{where}: unknown model {name!r}. {advice}")


def _items(data: Any, source: str) -> list[Item]:
    if not isinstance(data, list):
        raise FixtureError(
            f'{source}: a fixture is a list of objects ([{{"model": ..., "fields": '
            f"{{...}}}}, ...]), not {type(data).__name__}."
        )
    return [Item(source, index, raw) for index, raw in enumerate(data, start=1)]


def _load(db: Database, items: Sequence[Item]) -> int:
    with _unit(db) as session:
        by_table = _models_by_table(db)
        loader = Loader(session)
        prepared = []
        with session.no_autoflush:
            # First every object found or made, with its own columns; then the relations,
            # so that an object may point at one further down (or in another file).
            for item in items:
                plan = plan_for(_named(by_table, item.model_name(), item.where()))
                prepared.append((item, *loader.prepare(plan, item)))
            for _, obj, links in prepared:
                for link in links:
                    link.apply(loader, obj)
            # The fields' own checks, so that a missing or too long value names its object.
            for item, obj, _ in prepared:
                for name, problems in obj.validation_errors().items():
                    raise item.error(name, " ".join(problems).rstrip("."))
        try:
            session.flush()
            loader.move_sequences()
        except (sa_exc.DBAPIError, sa_exc.StatementError) as error:
            sources = ", ".join(dict.fromkeys(item.source for item in items))
            raise FixtureError(
                f"{sources}: the database refused the data ({getattr(error, 'orig', error)}). "
                "Check the objects against the models' constraints (unique, required fields)."
            ) from None
        return len(prepared)


__all__ = ["FixtureError", "dump", "load", "load_files", "models_of"]
