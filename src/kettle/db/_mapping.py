"""Turning a model class's declarations into SQLAlchemy: table name, primary key, ``Meta``
options, and the columns and relationships that relation fields ask for.

``Model.__init_subclass__`` calls ``prepare`` before SQLAlchemy maps the class and
``finish`` after, when the ``Table`` exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import backref, mapped_column, relationship

from kettle.db.fields import CASCADE, SET_NULL, FieldInfo, Relation

if TYPE_CHECKING:
    from kettle.db.models import Model

_PK_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def table_name_for(class_name: str) -> str:
    """``ArticleVote`` -> ``article_vote``: the default table name of a model class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def prepare(cls: type[Model]) -> None:
    """Set up ``cls`` before SQLAlchemy's declarative scan."""
    meta = cls.__dict__.get("Meta")
    table = getattr(meta, "table_name", None) or cls.__dict__.get("__tablename__")
    cls.__tablename__ = table or table_name_for(cls.__name__)
    if "id" not in cls.__dict__ and not any("id" in b.__dict__ for b in cls.__mro__[1:]):
        cls.id = mapped_column(_PK_TYPE, primary_key=True, autoincrement=True)
    if meta is not None:
        cls._kettle_ordering = tuple(getattr(meta, "ordering", ()))
        args = [spec for spec in getattr(meta, "indexes", ()) if isinstance(spec, sa.Index)]
        args.extend(getattr(meta, "constraints", ()))
        if args:
            cls.__table_args__ = tuple(args)
    for name, value in list(cls.__dict__.items()):
        if isinstance(value, Relation):
            _add_relation(cls, name, value)


def finish(cls: type[Model]) -> None:
    """Add what needs the mapped ``Table``: the indexes ``Meta.indexes`` names by column."""
    meta = cls.__dict__.get("Meta")
    specs = [s for s in getattr(meta, "indexes", ()) if not isinstance(s, sa.Index)]
    table = cls.__table__
    assert isinstance(table, sa.Table)
    _add_indexes(table, specs)


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
    if rel.related_name:
        reverse = backref(rel.related_name, uselist=rel.kind != "one_to_one", **_reverse(rel))
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
    reverse = (
        backref(rel.related_name, lazy="select", viewonly=viewonly, **passive)
        if rel.related_name
        else None
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


__all__ = ["finish", "prepare", "restricting", "table_name_for"]
