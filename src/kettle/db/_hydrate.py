"""Driver rows into results, planned once per compiled shape.

A hydrator turns the rows a driver returned into what SQLAlchemy's ORM would have
returned for the same statement: model instances registered in the session (the same
object for a row already in its identity map, as SQLAlchemy does without
``populate_existing``), with ``select_related`` relations and annotations set, or the
``values()``/``values_list()`` rows. Each column goes through the result processor
SQLAlchemy picks for its type and the driver's column type (``result_processor(dialect,
coltype)``), so SQLite datetimes, Decimals, enums, JSON and Kettle's own types come out
the same::

    hydrator = plan_hydrator(compiled, dialect, cursor.description, kind)
    objects = hydrator(rows, session)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import ColumnProperty, Mapper
from sqlalchemy.orm.attributes import instance_state

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.orm import Session

#: ``hydrator(rows, session)``: the results of one run.
Hydrator = Callable[[Sequence[Any], "Session"], list[Any]]


class Uncovered(Exception):
    """A shape the fast path does not reproduce exactly; it takes SQLAlchemy's path::

    raise Uncovered("deferred columns")
    """


class _Entity:
    """How one model's columns in a row become an instance (the queried model, or a
    relation reached by ``select_related``)."""

    __slots__ = (
        "children",
        "contiguous",
        "getter",
        "identity",
        "keys",
        "keyset",
        "manager",
        "path",
        "pk",
    )

    def __init__(self, mapper: Mapper[Any], columns: dict[str, int], path: Any) -> None:
        expected = {prop.key for prop in mapper.column_attrs}
        if set(columns) != expected:
            raise Uncovered(f"{mapper.class_.__name__}: deferred or extra columns")
        self.keys = tuple(columns)
        self.keyset = frozenset(columns)
        indexes = tuple(columns.values())
        self.contiguous = indexes == tuple(range(len(indexes)))
        getter = operator.itemgetter(*indexes)
        self.getter: Callable[[Any], Any] = (
            getter if len(indexes) > 1 else (lambda row: (getter(row),))
        )
        pk = tuple(columns[mapper._columntoproperty[c].key] for c in mapper.primary_key)
        self.pk: Any = pk[0] if len(pk) == 1 else pk
        self.identity = mapper._identity_class
        self.manager = mapper.class_manager
        self.path = path
        self.children: list[tuple[str, _Entity]] = []

    def load(self, row: Sequence[Any], identities: Any, session_id: int) -> Any:
        """The instance of ``row``'s columns: the session's own if it holds that identity."""
        pk_index = self.pk
        if type(pk_index) is int:
            pk = row[pk_index]
            if pk is None:  # an outer-joined relation with no row
                return None
            ident: tuple[Any, ...] = (pk,)
        else:
            ident = tuple(row[i] for i in pk_index)
            if all(value is None for value in ident):
                return None
        key = (self.identity, ident, None)
        obj = identities.get(key)
        if obj is None:
            # PERF: what sqlalchemy.orm.loading does for a new row (new_instance, the
            # state's identity, _add_unpresent), without its per-query setup.
            obj = self.manager.new_instance()
            values = obj.__dict__
            if self.contiguous:
                values.update(zip(self.keys, row, strict=False))
            else:
                values.update(zip(self.keys, self.getter(row), strict=False))
            state = instance_state(obj)
            state.key = key
            state.identity_token = None
            state.session_id = session_id
            state.load_path = self.path
            identities._add_unpresent(state, key)
            for name, child in self.children:
                values[name] = child.load(row, identities, session_id)
            return obj
        # Already in the session: keep its values (no populate_existing), fill in only
        # what it lacks (expired attributes, relations not loaded yet).
        values = obj.__dict__
        state = instance_state(obj)
        # PERF: state.unloaded walks every attribute; a fully loaded object (the usual
        # case) has all its columns in its __dict__ and nothing expired.
        unloaded = (
            state.unloaded if state.expired_attributes or not self.keyset <= values.keys() else ()
        )
        if unloaded:
            loaded = dict(zip(self.keys, self.getter(row), strict=False))
            for name in unloaded:
                if name in loaded:
                    values[name] = loaded[name]
        for name, child in self.children:
            related = child.load(row, identities, session_id)
            if name not in values:
                values[name] = related
        if unloaded:
            state._commit(values, unloaded)
        return obj


def plan_hydrator(
    compiled: Any,
    dialect: Dialect | None,
    description: Sequence[Any] | None,
    kind: tuple[str, Any, tuple[str, ...], bool],
    *,
    check_only: bool = False,
) -> Hydrator:
    """The hydrator of ``compiled`` (see the module docstring); raises ``Uncovered``.

    ``kind`` is (QuerySet shape, values() names, annotation names, select_related used).
    With ``check_only`` the plan is only checked (before the first run, when the
    driver's column types are not known yet).
    """
    columns = compiled._result_columns
    processors: list[tuple[int, Any]] = []
    if not check_only:
        assert dialect is not None
        assert description is not None
        if len(description) != len(columns):
            raise Uncovered("the driver returned other columns than compiled")
        for i, (column, described) in enumerate(zip(columns, description, strict=True)):
            process = column[3]._cached_result_processor(dialect, described[1])
            if process is not None:
                processors.append((i, process))
    shape, names, annotations, related = kind
    names = tuple(names or ())
    if shape == "objects":
        plan = _plan_objects(compiled, annotations, related)
    else:
        plan = _plan_values(shape, names, len(columns))
    return _with_processors(plan, tuple(processors))


def _with_processors(plan: Hydrator, processors: tuple[tuple[int, Any], ...]) -> Hydrator:
    if not processors:
        return plan

    def hydrate(rows: Sequence[Any], session: Session) -> list[Any]:
        processed = []
        for raw in rows:
            row = list(raw)
            for i, process in processors:
                row[i] = process(row[i])
            processed.append(row)
        return plan(processed, session)

    return hydrate


def _plan_values(shape: str, names: tuple[str, ...], width: int) -> Hydrator:
    if names is None or len(names) != width:
        raise Uncovered("values() columns")
    if shape == "flat":
        return lambda rows, session: [row[0] for row in rows]
    if shape == "tuples":
        return lambda rows, session: [tuple(row) for row in rows]
    return lambda rows, session: [dict(zip(names, row, strict=True)) for row in rows]


def _plan_objects(compiled: Any, annotations: tuple[str, ...], related: bool) -> Hydrator:
    state = compiled.compile_state
    if state is None:
        raise Uncovered("not an ORM statement")
    where: dict[int, tuple[tuple[str, ...], str]] = {}
    entities: dict[tuple[str, ...], tuple[Mapper[Any], Any]] = {}
    for key, value in state.attributes.items():
        if not isinstance(key, tuple) or len(key) != 2:
            continue
        if key[0] == "loader" and getattr(value, "strategy", None) != (("lazy", "joined"),):
            raise Uncovered("a loader other than select_related")
        if key[0] != "memoized_setups":
            continue
        path: Any = key[1]
        elements = tuple(getattr(path, "path", path))
        mapper = elements[-1]
        if not isinstance(mapper, Mapper) or _special(mapper):
            raise Uncovered("a mapper with inheritance, versions or load events")
        relations = tuple(prop.key for prop in elements[1::2])
        entities[relations] = (mapper, path)
        for prop, column in value.items():
            if isinstance(prop, ColumnProperty):
                where[id(column)] = (relations, prop.key)
    by_entity: dict[tuple[str, ...], dict[str, int]] = {}
    extra: list[int] = []
    for i, column in enumerate(compiled._result_columns):
        found = next((where[id(o)] for o in column[2] if id(o) in where), None)
        if found is not None:
            by_entity.setdefault(found[0], {})[found[1]] = i
        elif column[0] in annotations:
            extra.append(i)
        else:
            raise Uncovered(f"an unknown column {column[0]!r}")
    if () not in by_entity or len(extra) != len(annotations):
        raise Uncovered("columns of the queried model")
    planned = {}
    for relations in sorted(by_entity, key=len):
        mapper, path = entities[relations]
        entity = planned[relations] = _Entity(mapper, by_entity[relations], path)
        if relations:
            parent = planned.get(relations[:-1])
            if parent is None:
                raise Uncovered("a related model without its parent")
            parent.children.append((relations[-1], entity))
    root = planned[()]
    if not root.contiguous and not annotations:
        raise Uncovered("the model's columns are not first")
    model = root.manager.class_
    shown = tuple(name for name in annotations if not hasattr(model, name))

    def hydrate(rows: Sequence[Any], session: Session) -> list[Any]:
        identities = session.identity_map
        session_id = session.hash_key
        load = root.load
        objects = []
        for row in rows:
            obj = load(row, identities, session_id)
            if annotations:
                # As QuerySet._rows does: every annotation in obj.annotations, and an
                # attribute too unless the class has that name.
                values = dict(zip(annotations, [row[i] for i in extra], strict=True))
                obj.__dict__["_kettle_annotations"] = values
                for name in shown:
                    obj.__dict__[name] = values[name]
                objects.append((obj, *values.values()) if related else obj)
            else:
                objects.append(obj)
        if related:
            # result.unique(): the same object (and annotations) once
            seen: set[Any] = set()
            unique = []
            for item in objects:
                if item not in seen:
                    seen.add(item)
                    unique.append(item[0] if annotations else item)
            return unique
        return objects

    return hydrate


def _special(mapper: Mapper[Any]) -> bool:
    return bool(
        mapper.inherits is not None
        or mapper.polymorphic_on is not None
        or mapper.version_id_col is not None
        or mapper.class_manager.dispatch.load
        or mapper.class_manager.dispatch.refresh
    )


__all__ = ["Hydrator", "Uncovered", "plan_hydrator"]
