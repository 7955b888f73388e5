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

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import ColumnProperty, Mapper
from sqlalchemy.orm.attributes import instance_state

from kettle.db.fields import UTCDateTime

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
    relation reached by ``select_related``): ``entity.load(row, identities, session_id)``."""

    __slots__ = (
        "children",
        "contiguous",
        "getter",
        "keys",
        "keyset",
        "load",
        "model",
        "pk",
        "processing",
        "processors",
    )

    def __init__(
        self,
        mapper: Mapper[Any],
        columns: dict[str, int],
        path: Any,
        processors: dict[int, Any],
        aware: frozenset[int] = frozenset(),
    ) -> None:
        expected = {prop.key for prop in mapper.column_attrs}
        if set(columns) != expected:
            raise Uncovered(f"{mapper.class_.__name__}: deferred or extra columns")
        self.model = mapper.class_
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
        #: (attribute, result processor) of the columns converted when an instance is
        #: built, not before (a row already in the session needs none of them); the key's
        #: columns are converted up front, as the identity needs them (see plan_hydrator).
        self.processors = tuple(
            (name, _TO_UTC if i in aware and _not_null(mapper, name) else processors[i])
            for name, i in columns.items()
            if i in processors and i not in pk
        )
        self.processing = dict(self.processors)
        self.children: list[tuple[str, _Entity]] = []
        #: ``load(row, identities, session_id)``: the instance of ``row``'s columns, the
        #: session's own if it holds that identity.
        self.load: Callable[[Sequence[Any], Any, int], Any] = self._loader(mapper, path)

    def _loader(self, mapper: Mapper[Any], path: Any) -> Callable[[Sequence[Any], Any, int], Any]:
        # PERF: a closure over everything a row needs (no attribute lookups per row), doing
        # what sqlalchemy.orm.loading does for a new row (ClassManager.new_instance, the
        # state's identity, _add_unpresent) without its per-query setup; the identity
        # map's own dict is read and written directly (what its get() and _add_unpresent()
        # do, without two Python calls per row).
        identity = mapper._identity_class
        cls: Any = mapper.class_
        new = cls.__new__
        manager = mapper.class_manager
        make_state = manager._state_constructor
        state_attr = manager.STATE_ATTR
        keys, getter, processors, children = self.keys, self.getter, self.processors, self.children
        contiguous = self.contiguous
        pk_index = self.pk
        single = type(pk_index) is int
        refill = self._refill

        def load(row: Sequence[Any], identities: Any, session_id: int) -> Any:
            if single:
                pk = row[pk_index]
                if pk is None:  # an outer-joined relation with no row
                    return None
                key = (identity, (pk,), None)
            else:
                ident = tuple(row[i] for i in pk_index)
                if all(value is None for value in ident):
                    return None
                key = (identity, ident, None)
            held = identities._dict
            state = held.get(key)
            if state is not None:
                obj = state.obj()
                if obj is not None:
                    return refill(obj, row, identities, session_id)
            obj = new(cls)
            state = make_state(obj, manager)
            values = obj.__dict__
            values[state_attr] = state  # ClassManager._state_setter, as new_instance does
            values.update(zip(keys, row if contiguous else getter(row), strict=False))
            for name, process in processors:
                values[name] = process(values[name])
            # (identity_token stays the class's None, as SQLAlchemy sets it here)
            state.key = key
            state.session_id = session_id
            state.load_path = path
            held[key] = state  # _WeakInstanceDict._add_unpresent
            state._instance_dict = identities._wr
            for name, child in children:
                values[name] = child.load(row, identities, session_id)
            return obj

        return load

    def _refill(self, obj: Any, row: Sequence[Any], identities: Any, session_id: int) -> Any:
        """``obj``, already in the session: its values are kept (no populate_existing);
        only what it lacks (expired attributes, relations not loaded yet) is filled in."""
        values = obj.__dict__
        state = instance_state(obj)
        # PERF: state.unloaded walks every attribute; a fully loaded object (the usual
        # case) has all its columns in its __dict__ and nothing expired.
        unloaded = (
            state.unloaded if state.expired_attributes or not self.keyset <= values.keys() else ()
        )
        if unloaded:
            loaded = dict(zip(self.keys, self.getter(row), strict=False))
            processing = self.processing
            for name in unloaded:
                if name in loaded:
                    process = processing.get(name)
                    value = loaded[name]
                    values[name] = value if process is None else process(value)
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
    processors: dict[int, Any] = {}
    aware = set()
    if not check_only:
        assert dialect is not None
        assert description is not None
        if len(description) != len(columns):
            raise Uncovered("the driver returned other columns than compiled")
        for i, (column, described) in enumerate(zip(columns, description, strict=True)):
            process = _result_processor(column[3], dialect, described[1])
            if process is not None:
                processors[i] = process
            if process is UTCDateTime.from_driver and described[1] == _TIMESTAMPTZ:
                # PostgreSQL's drivers return a timestamptz as an aware datetime, always.
                aware.add(i)
    shape, names, annotations, related = kind
    names = tuple(names or ())
    if shape == "objects":
        plan, taken = _plan_objects(compiled, annotations, related, processors, frozenset(aware))
    elif shape == "count":
        if len(columns) != 1:
            raise Uncovered("a count of more than one column")
        plan, taken = _plan_values("flat", ("count",), 1), set()
    else:
        plan, taken = _plan_values(shape, names, len(columns)), set()
    return _with_processors(
        plan, tuple((i, process) for i, process in processors.items() if i not in taken)
    )


def _result_processor(type_: Any, dialect: Dialect, coltype: Any) -> Any:
    """SQLAlchemy's result processor for a column of ``type_``, or for Kettle's
    ``UTCDateTime`` over a driver that returns datetimes, its conversion itself.

    PERF: SQLAlchemy's TypeDecorator wraps the conversion in two calls per value.
    """
    process = type_._cached_result_processor(dialect, coltype)
    if (
        process is not None
        and getattr(type(type_), "process_result_value", None) is UTCDateTime.process_result_value
        and type_.dialect_impl(dialect).impl_instance._cached_result_processor(dialect, coltype)
        is None
    ):
        return UTCDateTime.from_driver
    return process


#: PostgreSQL's type oid of ``timestamptz`` (psycopg's and asyncpg's column type code).
_TIMESTAMPTZ = 1184
#: ``UTCDateTime.from_driver`` for a value known to be an aware datetime (a NOT NULL
#: timestamptz of an entity, whose row exists). PERF: one C call per value instead of a
#: Python function's frame, type test and the same ``astimezone``.
_TO_UTC = operator.methodcaller("astimezone", dt.UTC)


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


def _plan_objects(
    compiled: Any,
    annotations: tuple[str, ...],
    related: bool,
    processors: dict[int, Any],
    aware: frozenset[int],
) -> tuple[Hydrator, set[int]]:
    """The hydrator of a shape's objects, and the columns whose result processors its
    entities run themselves (when they build an instance)."""
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
        entity = planned[relations] = _Entity(mapper, by_entity[relations], path, processors, aware)
        if relations:
            parent = planned.get(relations[:-1])
            if parent is None:
                raise Uncovered("a related model without its parent")
            parent.children.append((relations[-1], entity))
    root = planned[()]
    if not root.contiguous and not annotations:
        raise Uncovered("the model's columns are not first")
    model = root.model
    shown = tuple(name for name in annotations if not hasattr(model, name))
    taken = {
        by_entity[relations][name]
        for relations, entity in planned.items()
        for name, _ in entity.processors
    }

    if not annotations and not related:

        def objects(rows: Sequence[Any], session: Session) -> list[Any]:
            # PERF: the usual case (a model's own rows) in one comprehension.
            identities = session.identity_map
            session_id = session.hash_key
            load = root.load
            return [load(row, identities, session_id) for row in rows]

        return objects, taken

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

    return hydrate, taken


def _not_null(mapper: Mapper[Any], name: str) -> bool:
    return getattr(mapper.columns[name], "nullable", True) is False


def _special(mapper: Mapper[Any]) -> bool:
    return bool(
        mapper.inherits is not None
        or mapper.polymorphic_on is not None
        or mapper.version_id_col is not None
        or mapper.class_manager.dispatch.load
        or mapper.class_manager.dispatch.refresh
    )


__all__ = ["Hydrator", "Uncovered", "plan_hydrator"]
