"""A ``Resource`` class checked and compiled once, when it is mounted: its Structs, its
list options, what to load with each row, and the work a request does that needs no I/O
(rendering, ETags, permission names)."""

from __future__ import annotations

import hashlib
import inspect
import re
import typing
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from kettle.db.fields import info_of
from kettle.exceptions import ConfigurationError, HTTPException
from kettle.resources import _schema
from kettle.resources._listing import Listing
from kettle.resources._rows import RowReader
from kettle.resources.resource import ACTIONS, HOOKS, PERMISSIONS, Resource

_encode = msgspec.json.Encoder().encode


def snake_case(name: str) -> str:
    """``ArticleVote`` -> ``article_vote``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(slots=True)
class Plan:
    """Everything a resource's endpoints need, prepared at start-up."""

    resource: Resource
    name: str
    model: type[Any]
    output: type[msgspec.Struct]
    output_fields: tuple[str, ...]
    #: Makes the output Struct of a row (see ``_schema.output_struct``).
    make: Any
    create_body: type[msgspec.Struct]
    patch_body: type[msgspec.Struct]
    listing: Listing
    #: ``select_related`` / ``prefetch_related`` paths for the nested relations.
    to_one: tuple[str, ...]
    to_many: tuple[str, ...]
    #: Writable ``<relation>_id`` columns and the model each points at.
    references: dict[str, type[Any]]
    #: Every column, for the ETag.
    column_names: tuple[str, ...]
    #: The scalar defaults of writable columns, set on a new object before the hooks
    #: see it (``body=""`` when a client sends no body).
    defaults: dict[str, Any]
    asynchronous: bool
    #: Reads rows as tuples when no hook needs an object (None with a to-many relation
    #: nested: those load per page with ``prefetch_related``).
    rows: RowReader | None = None
    #: Hooks the subclass overrode (the defaults run the matching built-in code).
    overridden: frozenset[str] = field(default_factory=frozenset)

    # --- rendering ---------------------------------------------------------------------------
    def render(self, obj: Any, fields: tuple[str, ...] | None = None) -> msgspec.Struct:
        """``obj`` as the output Struct (only ``fields`` when given)."""
        # PERF: one Struct per row, made by a function built at start-up; msgspec
        # encodes it (the UNSET fields a ?fields= leaves out are omitted).
        made = self.make(obj)
        if fields is None:
            return made  # type: ignore[no-any-return]
        return self.only(made, fields)

    def only(self, made: msgspec.Struct, fields: tuple[str, ...]) -> msgspec.Struct:
        """``made`` with only ``fields`` set (``?fields=``; the others are omitted)."""
        return self.output(**{f: getattr(made, f) for f in fields})

    def etag(self, obj: Any) -> str:
        """A strong ETag from every column of the row: any change changes it."""
        return etag_of([getattr(obj, name) for name in self.column_names])

    def objects_needed(self, action: str) -> bool:
        """Whether ``action`` reads ORM objects (a hook sees them, or a to-many relation
        is nested) rather than tuples (``_rows``)."""
        if self.rows is None:
            return True
        return action == "retrieve" and not _OBJECT_HOOKS.isdisjoint(self.overridden)

    def permission(self, action: str) -> str:
        """The model permission ``action`` needs: ``"article.change"``."""
        return f"{self.model.__tablename__}.{PERMISSIONS[action]}"

    def cursor_values(self, obj: Any, ordering: tuple[str, ...]) -> list[Any]:
        """The sort values of ``obj`` a cursor after it holds."""
        return [getattr(obj, n.removeprefix("-").replace("pk", "id")) for n in ordering]


#: The hooks that are handed the object a retrieve reads.
_OBJECT_HOOKS = frozenset({"get_object", "has_object_permission"})


def etag_of(values: list[Any]) -> str:
    """A strong ETag from a row's column values (in ``Plan.column_names`` order)."""
    digest = hashlib.blake2b(_encode(values), digest_size=12).hexdigest()
    return f'"{digest}"'


def matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` value names ``etag`` (or is ``*``);
    weak tags compare by their opaque part."""
    if header is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def precondition_failed(etag: str) -> HTTPException:
    """The 412 for a write whose ``If-Match`` names another version."""
    return HTTPException(
        412,
        "The row changed since you read it (If-Match does not name its current ETag "
        f"{etag}). GET it again, apply your change to what it holds now, and retry.",
        {"ETag": etag},
    )


def compile_resource(cls: type[Resource], name: str | None) -> Plan:
    """Check ``cls`` and build its ``Plan``; every mistake is a ``ConfigurationError``."""
    where = cls.__qualname__
    model = getattr(cls, "model", None)
    if model is None or not hasattr(model, "objects"):
        raise ConfigurationError(f"{where} needs model = <a kettle.db Model class>.")
    unknown = [a for a in cls.actions if a not in ACTIONS]
    if unknown:
        raise ConfigurationError(
            f"{where}.actions: unknown {', '.join(unknown)}; use some of {', '.join(ACTIONS)}."
        )
    cols = _schema.columns(model)
    rels = _schema.relations(model)
    nested = {k: tuple(v) for k, v in cls.nested.items()}
    for rel_name in nested:
        if rel_name not in rels:
            raise ConfigurationError(
                f"{where}.nested: {model.__name__} has no relation {rel_name!r} "
                f"(relations: {', '.join(rels) or 'none'})."
            )
    names = tuple(cls.fields) or tuple(cols)
    for group in ("read_only_fields", "write_only_fields"):
        for f in getattr(cls, group):
            if f not in names:
                raise ConfigurationError(f"{where}.{group}: {f!r} is not in fields.")
    hidden = set(cls.write_only_fields)
    output_fields = tuple(f for f in names if f not in hidden)
    fixed = set(cls.read_only_fields) | _always_read_only(cols)
    writable = tuple(f for f in names if f in cols and f not in fixed)
    output, make, create_body, patch_body = _structs(cls, output_fields, writable)
    references = {
        f: rels[info.relation].mapper.class_
        for f in writable
        if (info := info_of(cols[f])) is not None and info.relation in rels
    }
    ordering_default = tuple(cls.default_ordering) or tuple(getattr(model, "_kettle_ordering", ()))
    cursor_types = None
    if cls.pagination == "cursor":
        cursor_types = {
            key: _schema.python_type(col, for_input=False)
            for key, col in cols.items()
            if not col.nullable
        }
        cursor_types["pk"] = cursor_types["id"]
    listing = Listing(
        where,
        model,
        filters=cls.filters,
        ordering=cls.ordering,
        default_ordering=ordering_default,
        search_fields=cls.search_fields,
        page_size=cls.page_size,
        max_page_size=cls.max_page_size,
        cursor_types=cursor_types,
        output_fields=output_fields,
    )
    overridden = frozenset(
        h for h in (*HOOKS, "get_queryset") if getattr(cls, h) is not getattr(Resource, h)
    )
    to_one = tuple(n for n in nested if not rels[n].uselist)
    to_many = tuple(n for n in nested if rels[n].uselist)
    rows = None
    if not to_many:
        rows = RowReader.build(
            model,
            output,
            output_fields,
            {n: f for n, f in nested.items() if n in output_fields},
            {n: _nested_struct(output, n) for n in to_one if n in output_fields},
            tuple(cols),
        )
    return Plan(
        resource=cls(),
        name=name or snake_case(model.__name__),
        model=model,
        output=output,
        output_fields=output_fields,
        make=make,
        create_body=create_body,
        patch_body=patch_body,
        listing=listing,
        to_one=to_one,
        to_many=to_many,
        references=references,
        column_names=tuple(cols),
        defaults={
            f: default.arg
            for f in writable
            if isinstance(default := cols[f].default, ScalarElementColumnDefault)
        },
        asynchronous=_asynchronous(cls, where, overridden),
        overridden=overridden,
        rows=rows,
    )


def _nested_struct(output: type[msgspec.Struct], field: str) -> type[msgspec.Struct]:
    """The Struct ``output`` nests for the to-one relation ``field``."""
    for tp in typing.get_args(_schema.hints(output)[field]):
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            return tp
    raise AssertionError(f"{output.__name__}.{field} nests no Struct")


def _structs(
    cls: type[Resource], output_fields: tuple[str, ...], writable: tuple[str, ...]
) -> tuple[type[msgspec.Struct], Any, type[msgspec.Struct], type[msgspec.Struct]]:
    """The output, create and patch Structs of ``cls``, made once per class (a class
    mounted twice shares them: the OpenAPI document names each type once). They are
    named after the resource (``ArticleResource``: ``Article``, ``ArticleInput``...)."""
    made = cls.__dict__.get("_kettle_structs")
    if made is None:
        made = _make_structs(cls, output_fields, writable)
        setattr(cls, "_kettle_structs", made)  # noqa: B010 - kept on the class it describes
    return made


def _make_structs(
    cls: type[Resource], output_fields: tuple[str, ...], writable: tuple[str, ...]
) -> tuple[type[msgspec.Struct], Any, type[msgspec.Struct], type[msgspec.Struct]]:
    model = cls.model
    base = cls.__name__.removesuffix("Resource") or model.__name__
    nested = {k: tuple(v) for k, v in cls.nested.items()}
    output, make = _schema.output_struct(base, model, output_fields, nested)
    create_body = _schema.input_struct(f"{base}Input", model, writable, partial=False)
    patch_body = _schema.input_struct(f"{base}Patch", model, writable, partial=True)
    return output, make, create_body, patch_body


def _always_read_only(cols: dict[str, sa.Column[Any]]) -> set[str]:
    fixed = set()
    for key, column in cols.items():
        info = info_of(column)
        # auto_now(_add) timestamps are not editable either.
        if column.primary_key or (info is not None and not info.editable):
            fixed.add(key)
    return fixed


def _asynchronous(cls: type[Resource], where: str, overridden: frozenset[str]) -> bool:
    kinds = {h: inspect.iscoroutinefunction(getattr(cls, h)) for h in overridden if h in HOOKS}
    if len(set(kinds.values())) > 1:
        sync = ", ".join(h for h, a in kinds.items() if not a)
        async_ = ", ".join(h for h, a in kinds.items() if a)
        raise ConfigurationError(
            f"{where} mixes def hooks ({sync}) with async def ones ({async_}); write them "
            "all one way (the endpoints then run the same way)."
        )
    asynchronous = all(kinds.values()) if kinds else True
    if not asynchronous and inspect.iscoroutinefunction(cls.get_queryset):
        raise ConfigurationError(
            f"{where}.get_queryset is async def but the other hooks are def; make it def."
        )
    return asynchronous


__all__ = ["Plan", "compile_resource", "matches", "precondition_failed", "snake_case"]
