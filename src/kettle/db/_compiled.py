"""Reads compiled once per shape: the SQL text in the driver's paramstyle, where each bound
value comes from, and how each row becomes a result.

A query's SQL depends on its shape (model, lookups and their operators, ordering, slice
present or not, ``select_related`` paths, ``values()`` names, annotations, ``distinct``;
for an IN list, its length: one SQL text per length), never on its values.
``queryset_key`` names the shape of a QuerySet from what it holds (SQLAlchemy's cache key
of each condition, which leaves the values out and hands them back in order);
``compile_queryset`` turns a shape into a ``Shape`` once per dialect, with SQLAlchemy, and
the bounded ``CACHE`` keeps it::

    key, values = queryset_key(qs, dialect_key(dialect))
    shape = CACHE.get(key) or compile_queryset(key, qs, dialect)
    sql, params = shape.run_with(values)   # what the driver runs, converted as SQLAlchemy would

A shape the fast path does not cover (see ``Uncovered``) is remembered as ``UNCOVERED``,
so the choice is made once per shape, never per row.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kettle.db import _statements
from kettle.db._hydrate import Hydrator, Uncovered, plan_hydrator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from kettle.db.query import QuerySet

#: Shapes kept per process; query strings can make new ones (``order_by`` names), so bounded.
CACHE_SIZE = 1024
#: What the cache holds for a shape that takes SQLAlchemy's path.
UNCOVERED: Any = object()


class ShapeCache:
    """A least-recently-used map from shape keys to ``Shape`` (or ``UNCOVERED``)::

    cache = ShapeCache(2)
    cache.put("a", shape_a); cache.get("a")      # shape_a, now the most recent
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._shapes: collections.OrderedDict[Any, Any] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The shape kept for ``key``, or None."""
        shapes = self._shapes
        shape = shapes.get(key)
        if shape is not None:
            # PERF: no lock on the hot path; a key another thread evicted meanwhile is
            # simply not moved (try/except: contextlib.suppress costs ~0.5 µs a call).
            try:  # noqa: SIM105 (PERF, above)
                shapes.move_to_end(key)
            except KeyError:
                pass
        return shape

    def put(self, key: Any, shape: Any) -> Any:
        """Keep ``shape`` for ``key``, forgetting the least recently used past ``size``."""
        with self._lock:
            shapes = self._shapes
            shapes[key] = shape
            shapes.move_to_end(key)
            while len(shapes) > self.size:
                shapes.popitem(last=False)
        return shape

    def clear(self) -> None:
        """Forget every shape."""
        self._shapes.clear()

    def __len__(self) -> int:
        return len(self._shapes)


CACHE = ShapeCache(CACHE_SIZE)


class Shape:
    """One compiled read: its SQL, its parameters' sources, and (after its first run,
    which reports the column types) its hydrator."""

    __slots__ = (
        "_expanding",
        "_plan",
        "_variants",
        "hydrator",
        "keys",
        "kind",
        "positional",
        "sql",
        "statement",
    )

    def __init__(self, compiled: Any, sources: dict[str, int], kind: Any) -> None:
        self.sql: str = compiled.string
        self.statement = compiled
        self.positional: bool = bool(compiled.positional)
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        self.keys, self._plan = self._planned(names, sources, compiled._bind_processors)
        #: IN lists rendered per call: (name, source) of each; one SQL text per lengths.
        self._expanding = tuple(
            (name, sources.get(name, -1))
            for bind in compiled.post_compile_params
            for name in [compiled.bind_names[bind]]
        )
        self._variants: dict[tuple[int, ...], tuple[str, Any, Any]] = {}
        #: What the rows become: ("objects", ...) / ("dicts", names) / ...; see _hydrate.
        self.kind = kind
        self.hydrator: Hydrator | None = None

    def _planned(
        self, names: Sequence[str], sources: dict[str, Any], processors: Any
    ) -> tuple[tuple[str, ...], tuple[tuple[Any, Any, Any], ...]]:
        compiled = self.statement
        escaped = compiled.escaped_bind_names or {}
        plan = []
        for name in names:
            source = sources.get(name, -1)
            constant = compiled.binds[name].effective_value if source == -1 else None
            plan.append((source, constant, processors.get(name)))
        # The driver's parameter names, for named paramstyles (psycopg's pyformat).
        return tuple(escaped.get(name, name) for name in names), tuple(plan)

    def run_with(self, values: Sequence[Any]) -> tuple[str, Any]:
        """The SQL and the driver's parameters for ``values`` (a tuple, or a dict for
        pyformat), each converted by SQLAlchemy's bind processor for its type."""
        sql, keys, plan = self.sql, self.keys, self._plan
        if self._expanding:
            lengths = tuple(
                len(values[source] if source >= 0 else self.statement.binds[name].effective_value)
                for name, source in self._expanding
            )
            variant = self._variants.get(lengths)
            if variant is None:
                variant = self._expand(values, lengths)
            sql, keys, plan = variant
        # PERF: one pass with precomputed sources and SQLAlchemy's own bind processors,
        # instead of Compiled.construct_params and the execution context (~40 µs).
        out = []
        for source, constant, process in plan:
            if type(source) is tuple:  # one item of an IN list
                value = values[source[0]][source[1]]
            else:
                value = values[source] if source >= 0 else constant
            out.append(value if process is None else process(value))
        if self.positional:
            return sql, tuple(out)
        return sql, dict(zip(keys, out, strict=True))

    def _expand(self, values: Sequence[Any], lengths: tuple[int, ...]) -> tuple[str, Any, Any]:
        """The SQL text for IN lists of ``lengths`` items, rendered once by SQLAlchemy."""
        compiled = self.statement
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        given = {}
        sources: dict[str, Any] = {}
        for name, (source, constant, _) in zip(names, self._plan, strict=True):
            given[name] = values[source] if source >= 0 else constant
            sources[name] = source
        state = compiled._process_parameters_for_postcompile(given)
        for name, expanded in state.parameter_expansion.items():
            for i, item in enumerate(expanded):
                sources[item] = (sources[name], i) if sources.get(name, -1) != -1 else -1
        order = state.positiontup if compiled.positional else list(state.parameters)
        escaped = compiled.escaped_bind_names or {}
        plan = []
        for name in order:
            source = sources.get(name, -1)
            constant = state.parameters[name] if source == -1 else None
            plan.append((source, constant, state.processors.get(name)))
        variant = (state.statement, tuple(escaped.get(n, n) for n in order), tuple(plan))
        if len(self._variants) < _VARIANTS:
            self._variants[lengths] = variant
        return variant

    def hydrate(self, dialect: Dialect, description: Sequence[Any]) -> Hydrator:
        """The hydrator, built on the first run from the driver's column types (as
        SQLAlchemy picks result processors from them)."""
        if self.hydrator is None:
            self.hydrator = plan_hydrator(self.statement, dialect, description, self.kind)
        return self.hydrator


#: SQL texts kept per shape for IN lists of different lengths.
_VARIANTS = 32


def dialect_key(dialect: Dialect) -> tuple[Any, ...]:
    """What makes a dialect's SQL differ: its class (driver, paramstyle) and server."""
    # PERF: kept on the dialect once it knows its server (it has connected), so a read
    # pays one dict lookup instead of building the tuple.
    key: tuple[Any, ...] | None = dialect.__dict__.get(_DIALECT_KEY)
    if key is None:
        key = (type(dialect), dialect.server_version_info, getattr(dialect, "is_mariadb", None))
        if dialect.server_version_info is not None:
            dialect.__dict__[_DIALECT_KEY] = key
    return key


#: Where a dialect keeps its ``dialect_key``.
_DIALECT_KEY = "_kettle_shape_key"


def queryset_key(qs: QuerySet[Any], dialect: tuple[Any, ...]) -> tuple[Any, list[Any]] | None:
    """The shape key of ``qs`` and its bound values in order, or None when some part of
    it has no cache key (SQLAlchemy itself would not cache it)."""
    values: list[Any] = []
    conditions = []
    for condition in qs._where:
        key = condition._generate_cache_key()
        if key is None:
            return None
        conditions.append(key.key)
        values.extend(bind.effective_value for bind in key.bindparams)
    annotations = []
    for name, annotation in qs._annotations.items():
        key = annotation._generate_cache_key()
        if key is None:
            return None
        annotations.append((name, key.key))
        values.extend(bind.effective_value for bind in key.bindparams)
    loads = []
    for option in qs._loads:
        key = option._generate_cache_key()
        if key is None or key.bindparams:
            return None
        loads.append(key.key)
    values.append(qs._limit)
    values.append(qs._offset)
    shape = (
        qs.model,
        qs._values,
        qs._shape,
        qs._order,
        qs._distinct,
        qs._lock,
        _width(qs._limit),
        _width(qs._offset),
        tuple(conditions),
        tuple(annotations),
        tuple(loads),
        dialect,
    )
    return shape, values


def _width(number: int | None) -> bool | None:
    """None for no LIMIT (OFFSET), else whether SQLAlchemy binds it as a BIGINT (32 bits
    and more; ``Integer._resolve_for_literal``), which PostgreSQL's SQL text names."""
    return None if number is None else number.bit_length() >= 32


def count_key(qs: QuerySet[Any], dialect: tuple[Any, ...]) -> tuple[Any, list[Any]] | None:
    """The shape key of ``qs.count()`` and its bound values, as ``queryset_key``; None for
    a count this module does not compile (a slice, ``distinct``, ``values()``, annotations
    or a lock: a subquery that SQLAlchemy's path runs)."""
    if (
        qs._limit is not None
        or qs._offset is not None
        or qs._distinct
        or qs._values is not None
        or qs._annotations
        or qs._lock is not None
    ):
        return None
    found = queryset_key(qs, dialect)
    if found is None:
        return None
    return (_COUNT, found[0]), found[1]


#: What marks a ``count()`` shape key apart from its QuerySet's own.
_COUNT = "count"


def compile_queryset(key: Any, qs: QuerySet[Any], dialect: Dialect) -> Any:
    """The ``Shape`` of ``qs`` for ``dialect`` (or ``UNCOVERED``), kept under ``key``."""
    try:
        shape = _compile_queryset(qs, dialect, False)
    except Uncovered:
        shape = UNCOVERED
    return CACHE.put(key, shape)


def compile_count(key: Any, qs: QuerySet[Any], dialect: Dialect) -> Any:
    """The ``Shape`` of ``qs.count()`` (a key from ``count_key``), as ``compile_queryset``."""
    try:
        shape = _compile_queryset(qs, dialect, True)
    except Uncovered:
        shape = UNCOVERED
    return CACHE.put(key, shape)


def _compile_queryset(qs: QuerySet[Any], dialect: Dialect, count: bool) -> Shape:
    if qs._lock is not None:
        raise Uncovered("FOR UPDATE starts the transaction (see _deferred)")
    if qs._values is not None and len(set(qs._values)) != len(qs._values):
        raise Uncovered("values() naming a field twice: SQLAlchemy labels it name_1")
    stmt = _statements.count(qs) if count else _statements.select(qs)
    # The sources of the values queryset_key extracts, in its order: conditions,
    # annotations, then LIMIT and OFFSET (a count has neither: count_key refuses slices).
    ordered: list[Any] = []
    for element in (*qs._where, *qs._annotations.values()):
        element_key = element._generate_cache_key()
        assert element_key is not None  # queryset_key checked
        ordered.extend(element_key.bindparams)
    ordered.append(None if count else stmt._limit_clause)
    ordered.append(None if count else stmt._offset_clause)
    index = {id(bind): i for i, bind in enumerate(ordered) if bind is not None}
    cache_key = stmt._generate_cache_key()
    if cache_key is None:
        raise Uncovered("no cache key")
    for bind in cache_key.bindparams:
        if id(bind) not in index:
            # NOTE: a value SQLAlchemy would bind per call that the key above does not
            # carry: taking it as a constant could run the wrong query.
            raise Uncovered(f"unexpected bound value {bind.key}")
    compiled = stmt.compile(dialect=dialect, cache_key=cache_key)
    matched = _sources(compiled, lambda bind: index.get(id(bind)))
    if count:
        kind: Any = ("count", None, (), False)
    else:
        kind = (qs._shape, qs._values, tuple(qs._annotations), bool(qs._loads))
    return _checked(Shape(compiled, matched, kind))


def compile_statement(
    key: Any, stmt: Any, names: Sequence[str], dialect: Dialect, values: Any = None
) -> Any:
    """The ``Shape`` of a memoised ``get()`` statement whose values are the bind
    parameters ``names`` (``_statements.get_by_equality``), kept under ``key``; ``values``
    is ``(shape, names)`` of a ``values()``/``values_list()`` QuerySet's rows."""
    try:
        positions = {name: i for i, name in enumerate(names)}
        cache_key = stmt._generate_cache_key()
        if cache_key is None:
            raise Uncovered("no cache key")
        compiled = stmt.compile(dialect=dialect, cache_key=cache_key)
        matched = _sources(compiled, lambda bind: positions.get(bind.key))
        if sorted(matched.values()) != list(range(len(names))):
            raise Uncovered("a get() value does not reach the SQL")
        if values is None:
            related = bool(stmt._with_options)  # select_related() (get_by_equality)
            kind: Any = ("objects", None, (), related)
        else:
            kind = (values[0], values[1], (), False)
        shape = _checked(Shape(compiled, matched, kind))
    except Uncovered:
        shape = UNCOVERED
    return CACHE.put(key, shape)


def _sources(compiled: Any, source_of: Any) -> dict[str, int]:
    """Per compiled parameter name, the index of its value in the per-call values."""
    if compiled.literal_execute_params or compiled._render_postcompile:
        raise Uncovered("parameters rendered at execution")
    for bind in compiled.post_compile_params:
        if not bind.expanding or bind.type._is_tuple_type or bind.literal_execute:
            raise Uncovered("parameters rendered at execution")
    bind_match = compiled._cache_key_bind_match
    original = {}
    if bind_match is not None:
        for source, copies in bind_match[0].items():
            for copy in copies:
                original[id(copy)] = source
    sources = {}
    for bind, name in compiled.bind_names.items():
        found = source_of(original.get(id(bind), bind))
        if found is not None:
            sources[name] = found
    return sources


def _checked(shape: Shape) -> Shape:
    statement = shape.statement
    if statement.ctes or getattr(statement, "returning", None):
        raise Uncovered("not a plain SELECT")
    plan_hydrator(statement, None, None, shape.kind, check_only=True)
    return shape


__all__ = [
    "CACHE",
    "CACHE_SIZE",
    "UNCOVERED",
    "Shape",
    "ShapeCache",
    "Uncovered",
    "compile_count",
    "compile_queryset",
    "compile_statement",
    "count_key",
    "dialect_key",
    "queryset_key",
]
