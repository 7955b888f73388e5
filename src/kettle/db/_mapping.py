"""Turning a model class's declarations into SQLAlchemy: table name, primary key, ``Meta``
options, the fields of abstract parents, the columns and relationships that relation
fields ask for, and the CHECK of each enum column.

``Model.__init_subclass__`` calls ``prepare`` before SQLAlchemy maps the class and
``finish`` after, when the ``Table`` exists; for an abstract model it calls
``check_abstract`` instead.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import MappedColumn, backref, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from kettle.db.fields import CASCADE, SET_NULL, FieldInfo, Relation

if TYPE_CHECKING:
    from kettle.db.models import Model

_PK_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def table_name_for(class_name: str) -> str:
    """``ArticleVote`` -> ``article_vote``: the default table name of a model class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def prepare(cls: type[Model]) -> None:
    """Set up ``cls`` before SQLAlchemy's declarative scan."""
    _inherit_fields(cls)
    meta = meta_of(cls)
    table = getattr(meta, "table_name", None) or cls.__dict__.get("__tablename__")
    cls.__tablename__ = table or table_name_for(cls.__name__)
    if "id" not in cls.__dict__ and not any("id" in b.__dict__ for b in cls.__mro__[1:]):
        cls.id = mapped_column(_PK_TYPE, primary_key=True, autoincrement=True)
    if meta is not None:
        cls._kettle_ordering = tuple(getattr(meta, "ordering", ()))
        args = [spec for spec in getattr(meta, "indexes", ()) if isinstance(spec, sa.Index)]
        constraints = list(getattr(meta, "constraints", ()))
        own = cls.__dict__.get("Meta")
        if own is None or "constraints" not in own.__dict__:
            # An abstract parent's: every concrete model gets copies (a constraint belongs
            # to one table); SQLAlchemy's own _copy() needs one already attached.
            constraints = [copy.deepcopy(constraint) for constraint in constraints]
        args.extend(constraints)
        if args:
            cls.__table_args__ = tuple(args)
    for name, value in list(cls.__dict__.items()):
        if isinstance(value, Relation):
            _add_relation(cls, name, value)


def finish(cls: type[Model]) -> None:
    """Add what needs the mapped ``Table``: the indexes ``Meta.indexes`` names by column
    and the CHECK of each enum column."""
    meta = meta_of(cls)
    specs = [s for s in getattr(meta, "indexes", ()) if not isinstance(s, sa.Index)]
    table = cls.__table__
    assert isinstance(table, sa.Table)
    _add_indexes(table, specs)
    _add_enum_checks(table)


def check_abstract(cls: type[Model]) -> None:
    """Refuse ``Meta`` options of an abstract model that its concrete models cannot share:
    a table name, and ``sa.Index`` objects (index names are unique per database)."""
    meta = cls.__dict__.get("Meta")
    if meta is None:
        return
    if getattr(meta, "table_name", None):
        raise TypeError(
            f"Meta.table_name of the abstract model {cls.__name__}: an abstract model has no "
            "table, and each model built on it has a table of its own. Set table_name in "
            "the Meta of those models instead."
        )
    if any(isinstance(spec, sa.Index) for spec in getattr(meta, "indexes", ())):
        raise TypeError(
            f"Meta.indexes of the abstract model {cls.__name__} holds an sa.Index, which "
            "would be the same index for every model built on it. Name the columns instead "
            '(indexes = [("author_id", "-created")]): each model gets an index named after '
            "its table."
        )


def meta_of(cls: type[Model]) -> type | None:
    """The ``Meta`` of ``cls``: its own, else the nearest abstract parent's (as in Django,
    a model that declares its own ``Meta`` inherits none; ``class Meta(Parent.Meta)``
    extends the parent's)."""
    for klass in cls.__mro__:
        if klass is cls or _is_abstract(klass):
            meta: type | None = klass.__dict__.get("Meta")
            if meta is not None:
                return meta
        elif "__mapper__" in klass.__dict__:
            return None  # a mapped parent's Meta stays its own
    return None


# --- fields of abstract models ----------------------------------------------------------------
def _is_abstract(klass: type) -> bool:
    return bool(klass.__dict__.get("__abstract__", False))


def _is_field(value: Any) -> bool:
    return isinstance(value, (MappedColumn, sa.Column, Relation))


def _declared_by(cls: type, name: str) -> type | None:
    """The class whose declaration of ``name`` ``cls`` sees (the nearest in its MRO)."""
    return next((klass for klass in cls.__mro__ if name in klass.__dict__), None)


def _inherit_fields(cls: type[Model]) -> None:
    """Give ``cls`` copies of the fields its abstract parents declare, as Django's abstract
    models do: fresh columns for every concrete model, a nearer declaration (or ``None``)
    in their place."""
    # NOTE: SQLAlchemy copies columns from abstract classes only under Mapped[] annotations
    # and turns no Kettle relation into one: the copies are made here, before its scan,
    # which then takes the parent's declarations as overridden.
    inherited: dict[str, type[Model]] = {}
    for base in cls.__mro__[1:]:
        if not _is_abstract(base):
            continue
        for name, value in list(base.__dict__.items()):
            if not _is_field(value) or _declared_by(cls, name) is not base:
                continue
            if isinstance(value, Relation):
                _check_inherited_reverse(cls, base, name, value)
                fresh: Any = dataclasses.replace(value, options=dict(value.options))
            else:
                fresh = value._copy()
            setattr(cls, name, fresh)
            inherited[name] = base
    cls._kettle_inherited = inherited


def _concrete_descendants(base: type) -> Iterator[type]:
    sub: type
    for sub in base.__subclasses__():
        if not _is_abstract(sub):
            yield sub
        yield from _concrete_descendants(sub)


def _check_inherited_reverse(cls: type[Model], base: type, name: str, rel: Relation) -> None:
    """Refuse a second model inheriting a relation whose ``related_name`` has no
    ``%(class)s``: both would put the same reverse attribute on the target."""
    if not rel.related_name or "%(" in rel.related_name:
        return
    for other in _concrete_descendants(base):
        mapped = "__mapper__" in other.__dict__  # not a class whose declaration failed
        if mapped and other.__dict__.get("_kettle_inherited", {}).get(name) is base:
            target = _target_name(rel.target)
            raise TypeError(
                f"{cls.__name__}.{name}: related_name={rel.related_name!r}, inherited from "
                f"the abstract model {base.__name__}, already names {target}."
                f"{rel.related_name} for {other.__name__}.{name}. Put '%(class)s' in it on "
                f'{base.__name__} (related_name="%(class)s_{rel.related_name}" gives '
                f"{target}.{other.__name__.lower()}_{rel.related_name} and "
                f"{target}.{cls.__name__.lower()}_{rel.related_name}), or declare {name} on "
                "each model."
            )


def _related_name(cls: type[Model], name: str, related_name: str | None) -> str | None:
    """``related_name`` with Django's ``%(class)s`` filled in (``"%(class)s_set"``)."""
    if not related_name or "%" not in related_name:
        return related_name
    try:
        return related_name % {"class": cls.__name__.lower()}
    except (KeyError, ValueError, TypeError):
        raise ValueError(
            f"{cls.__name__}.{name}: related_name={related_name!r} may use %(class)s (the "
            "model's class name in lower case) and no other placeholder."
        ) from None


# --- enum CHECKs ----------------------------------------------------------------------------------
#: PostgreSQL keeps 63 characters of a name, MariaDB 64.
_MAX_NAME = 60
_ENUM_SUFFIX = "_enum"


def enum_check_name(table: str, column: str) -> str:
    """``ck_article_status_enum``, the CHECK of an enum column; long names end in a hash
    to fit every database (the name migrations give it too)."""
    name = f"ck_{table}_{column}{_ENUM_SUFFIX}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - len(_ENUM_SUFFIX) - 9]}_{digest}{_ENUM_SUFFIX}"


def _add_enum_checks(table: sa.Table) -> None:
    """A CHECK of the members of each string-backed enum column, so that a database made
    by ``create_all`` refuses other values as a migrated one does."""
    for column in table.columns:
        type_ = column.type
        # The columns migrations give a CHECK (kettle.db.migrations.enums.enum_members).
        if not isinstance(type_, sa.Enum) or type_.native_enum or type_.create_constraint:
            continue
        # NOTE: type-bound, as the CHECK of an Enum(create_constraint=True) is: autogenerate
        # leaves it out of create_table, where migrations write their own (same name, same
        # members), and compares enum columns' CHECKs by name on existing tables.
        check = sa.CheckConstraint(
            sa.type_coerce(column, sa.String()).in_(type_.enums),
            name=conv(enum_check_name(table.name, column.name)),
            _type_bound=True,
        )
        assert check.table is table  # made on the table's column, it attaches itself


def _add_indexes(table: sa.Table, specs: Sequence[str | Sequence[str]]) -> None:
    for spec in specs:
        names = [spec] if isinstance(spec, str) else list(spec)
        columns = []
        for name in names:
            key = name.lstrip("-")
            if key not in table.c:
                raise ValueError(
                    f"Meta.indexes of {table.name!r} names {key!r}, which is not a column. "
                    f"Columns are: {', '.join(table.c.keys())}."
                )
            columns.append(table.c[key].desc() if name.startswith("-") else table.c[key])
        label = "_".join(n.lstrip("-") for n in names)
        # Created on the table's columns, the index attaches itself to the table.
        sa.Index(f"ix_{table.name}_{label}", *columns)


def _target_table(cls: type[Model], target: Any) -> str:
    if not isinstance(target, str):
        return str(target.__tablename__)
    if target == cls.__name__:
        return str(cls.__tablename__)
    for mapper in cls.registry.mappers:
        if mapper.class_.__name__ == target:
            return str(getattr(mapper.local_table, "name", table_name_for(target)))
    # A model defined later: name it by class (give the class itself if that model sets
    # Meta.table_name).
    return table_name_for(target)


def _target_name(target: Any) -> str:
    return target if isinstance(target, str) else str(target.__name__)


def _add_relation(cls: type[Model], name: str, rel: Relation) -> None:
    if rel.kind == "many_to_many":
        _add_many_to_many(cls, name, rel)
        return
    column_name = f"{name}_id"
    ondelete = "RESTRICT" if rel.on_delete == "PROTECT" else rel.on_delete
    options = dict(rel.options)
    info = FieldInfo(
        kind=rel.kind,
        blank=rel.null,
        editable=options.pop("editable", True),
        help_text=options.pop("help_text", ""),
        verbose_name=options.pop("verbose_name", ""),
        relation=name,
        on_delete=rel.on_delete,
    )
    column = mapped_column(
        column_name,
        sa.ForeignKey(f"{_target_table(cls, rel.target)}.id", ondelete=ondelete),
        nullable=rel.null,
        index=rel.index,
        unique=rel.kind == "one_to_one" or None,
        info={**options.pop("info", {}), "kettle": info},
    )
    if options:
        raise TypeError(f"{cls.__name__}.{name}: unknown options {', '.join(sorted(options))}.")
    setattr(cls, column_name, column)
    reverse = None
    related_name = _related_name(cls, name, rel.related_name)
    if related_name:
        reverse = backref(related_name, uselist=rel.kind != "one_to_one", **_reverse(rel))
    extra: dict[str, Any] = {}
    if _target_name(rel.target) == cls.__name__:  # a tree (comment -> parent): this side is "many"
        extra["remote_side"] = f"{cls.__name__}.id"
    setattr(
        cls,
        name,
        # The class itself when we have it (not its name): two models with the same class
        # name in different modules must not shadow each other.
        relationship(
            rel.target,
            foreign_keys=[column.column],
            backref=reverse,
            lazy="select",
            **extra,
        ),
    )


def _reverse(rel: Relation) -> dict[str, Any]:
    """How the reverse side (``user.articles``) follows the database's ON DELETE."""
    if rel.on_delete == CASCADE:
        # Children already loaded are deleted by the ORM (it would otherwise null their
        # foreign key); the rest by the database, without loading them first.
        return {"cascade": "save-update, merge, delete", "passive_deletes": True, "lazy": "select"}
    if rel.on_delete == SET_NULL:
        return {"passive_deletes": True, "lazy": "select"}
    # RESTRICT / PROTECT: the database decides; the ORM must not touch the children.
    return {"passive_deletes": "all", "lazy": "select"}


def _add_many_to_many(cls: type[Model], name: str, rel: Relation) -> None:
    target = rel.target  # the class when given one (see _add_relation)
    extra: dict[str, Any] = {}
    if rel.through is not None:
        through = rel.through
        secondary: Any = (
            (lambda: through.__table__)
            if not isinstance(through, str)
            else _target_table(cls, through)
        )
    else:
        own, other = cls.__tablename__, _target_table(cls, rel.target)
        # A model linked to itself (user.following) needs two distinct column names.
        if own == other:
            left, right = f"from_{own}_id", f"to_{own}_id"
        else:
            left, right = f"{own}_id", f"{other}_id"
        table = sa.Table(
            f"{own}_{name}",
            cls.metadata,
            sa.Column(left, sa.ForeignKey(f"{own}.id", ondelete="CASCADE"), primary_key=True),
            sa.Column(right, sa.ForeignKey(f"{other}.id", ondelete="CASCADE"), primary_key=True),
        )
        secondary = table
        if own == other:
            extra["primaryjoin"] = lambda: cls.__table__.c.id == table.c[left]
            extra["secondaryjoin"] = lambda: cls.__table__.c.id == table.c[right]
    # NOTE: with an explicit through model, rows are written through that model (it may
    # carry extra columns); the link itself is read-only, so the two never disagree.
    viewonly = rel.through is not None
    # The link rows go with either side by ON DELETE CASCADE: no need to load them.
    passive: dict[str, Any] = {} if viewonly else {"passive_deletes": True}
    related_name = _related_name(cls, name, rel.related_name)
    reverse = (
        backref(related_name, lazy="select", viewonly=viewonly, **passive) if related_name else None
    )
    setattr(
        cls,
        name,
        relationship(
            target,
            secondary=secondary,
            backref=reverse,
            lazy="select",
            viewonly=viewonly,
            **passive,
            **extra,
        ),
    )


# --- who refuses a delete -----------------------------------------------------------------------
def restricting(model: type[Model]) -> list[str]:
    """Links that make the database refuse to delete rows of ``model``, directly or at
    the end of a cascade: ``["CollectionEntry.article (PROTECT) via Article.author"]``."""
    owners = {m.local_table: m.class_.__name__ for m in model.registry.mappers}
    found: list[str] = []
    seen: set[Any] = set()

    def visit(table: Any, path: list[str]) -> None:
        seen.add(table)
        for other in table.metadata.tables.values():
            for fk in other.foreign_keys:
                if fk.column.table is not table:
                    continue
                info = fk.parent.info.get("kettle")
                info = info if isinstance(info, FieldInfo) else FieldInfo(kind="column")
                link = f"{owners.get(other, other.name)}.{info.relation or fk.parent.name}"
                rule = (fk.ondelete or "NO ACTION").upper()
                if rule == "CASCADE":
                    if other not in seen:
                        visit(other, [*path, link])
                elif rule != "SET NULL":
                    via = f" via {' -> '.join(path)}" if path else ""
                    found.append(f"{link} ({info.on_delete or rule}){via}")

    visit(model.__table__, [])
    return found


__all__ = [
    "check_abstract",
    "enum_check_name",
    "finish",
    "meta_of",
    "prepare",
    "restricting",
    "table_name_for",
]
