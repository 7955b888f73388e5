"""The ``Model`` base: typed declarations that are real SQLAlchemy mapped classes.

Subclasses get a table name, an ``id`` primary key, Django-like ``Meta`` options, the
columns and relationships their relation fields ask for, ``objects`` for queries, and
validation from their fields' options::

    class Article(Model):
        title: str = fields.string(max_length=200)
        author: User = fields.foreign_key(User, related_name="articles")

        class Meta:
            ordering = ["-id"]
            indexes = [("author_id", "title")]

``select(Article)``, relationships and Alembic autogenerate work on them as on any
SQLAlchemy model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, backref, mapped_column, relationship

from kettle.db.fields import FieldValidationError, Relation, info_of

if TYPE_CHECKING:
    from kettle.db.query import Manager

#: Constraint names Alembic can diff and drop on every engine.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_PK_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ModelValidationError(ValueError):
    """A model instance failed validation; ``errors`` maps field names to messages."""

    def __init__(self, model: str, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        super().__init__(f"{model} is not valid: {details}")


def table_name_for(class_name: str) -> str:
    """``ArticleVote`` -> ``article_vote``: the default table name of a model class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


class Model(DeclarativeBase):
    """Base class of every Kettle model (see the module docstring)."""

    __abstract__ = True
    # Annotations are plain Python types (``title: str``); the fields carry the columns.
    __allow_unmapped__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    objects: ClassVar[Manager[Any]]
    #: The ordering of ``Meta.ordering``, as given (``["-created", "title"]``).
    _kettle_ordering: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.__dict__.get("__abstract__", False):
            super().__init_subclass__(**kwargs)
            return
        _prepare(cls)
        super().__init_subclass__(**kwargs)
        from kettle.db.query import Manager

        cls.objects = Manager(cls)

    @property
    def annotations(self) -> dict[str, Any]:
        """Values added by ``annotate()`` for this object (also attributes, unless a name
        is taken by a relation)."""
        return dict(self.__dict__.get("_kettle_annotations", {}))

    def __repr__(self) -> str:
        pk = getattr(self, "id", None)
        return f"<{type(self).__name__} {pk if pk is not None else '(unsaved)'}>"

    # --- validation --------------------------------------------------------------------
    def validation_errors(self) -> dict[str, list[str]]:
        """Check every column against its field options; returns ``{field: [messages]}``."""
        errors: dict[str, list[str]] = {}
        for column in type(self).__table__.columns:
            info = info_of(column)
            attr = column.key
            if info is None or not hasattr(type(self), attr):
                continue
            value = getattr(self, attr, None)
            problems = _check(column, info, value)
            if problems:
                errors[attr] = problems
        return errors

    def full_clean(self) -> None:
        """Raise ``ModelValidationError`` if any field is invalid (``save()`` calls this)."""
        errors = self.validation_errors()
        if errors:
            raise ModelValidationError(type(self).__name__, errors)

    # --- persistence (sync and async twins; see kettle.db.query for the naming rule) ------
    def save(self) -> None:
        """Validate, then insert or update this object in the current unit of work."""
        from kettle.db.session import sync_session

        self.full_clean()
        session = sync_session()
        session.add(self)
        session.flush()

    async def asave(self) -> None:
        """``save()`` for async code."""
        from kettle.db.session import async_session

        self.full_clean()
        session = async_session()
        session.add(self)
        await session.flush()

    def delete(self) -> None:
        """Delete this object (cascading as its relations say)."""
        from kettle.db.session import sync_session

        session = sync_session()
        session.delete(self)
        session.flush()

    async def adelete(self) -> None:
        """``delete()`` for async code."""
        from kettle.db.session import async_session

        session = async_session()
        await session.delete(self)
        await session.flush()

    def refresh(self) -> None:
        """Reload this object's columns from the database."""
        from kettle.db.session import sync_session

        sync_session().refresh(self)

    async def arefresh(self) -> None:
        """``refresh()`` for async code."""
        from kettle.db.session import async_session

        await async_session().refresh(self)


def _check(column: Any, info: Any, value: Any) -> list[str]:
    if value is None:
        required = not column.nullable and not column.primary_key
        has_default = column.default is not None or column.server_default is not None
        return ["This field is required."] if required and not has_default else []
    problems: list[str] = []
    if info.max_length is not None and isinstance(value, str) and len(value) > info.max_length:
        problems.append(
            f"Ensure this value has at most {info.max_length} characters (it has {len(value)})."
        )
    if info.choices:
        allowed = [c[0] for c in info.choices]
        raw = getattr(value, "value", value)
        if raw not in allowed:
            problems.append(f"{raw!r} is not one of the choices: {', '.join(map(str, allowed))}.")
    for validator in info.validators:
        try:
            validator(value)
        except (FieldValidationError, ValueError) as exc:
            problems.append(str(exc))
    return problems


# --- class preparation ------------------------------------------------------------------------
def _prepare(cls: type[Model]) -> None:
    meta = cls.__dict__.get("Meta")
    table = getattr(meta, "table_name", None) or cls.__dict__.get("__tablename__")
    cls.__tablename__ = table or table_name_for(cls.__name__)
    if "id" not in cls.__dict__ and not any("id" in b.__dict__ for b in cls.__mro__[1:]):
        cls.id = mapped_column(_PK_TYPE, primary_key=True, autoincrement=True)
    if meta is not None:
        cls._kettle_ordering = tuple(getattr(meta, "ordering", ()))
        args = [*_indexes(cls.__tablename__, getattr(meta, "indexes", ()))]
        args.extend(getattr(meta, "constraints", ()))
        if args:
            cls.__table_args__ = tuple(args)
    for name, value in list(cls.__dict__.items()):
        if isinstance(value, Relation):
            _add_relation(cls, name, value)


def _indexes(table: str, specs: Sequence[Any]) -> list[Any]:
    indexes = []
    for spec in specs:
        if isinstance(spec, sa.Index):
            indexes.append(spec)
            continue
        columns = [spec] if isinstance(spec, str) else list(spec)
        name = "ix_" + table + "_" + "_".join(c.lstrip("-") for c in columns)
        indexes.append(
            sa.Index(name, *(sa.text(f"{c[1:]} DESC") if c.startswith("-") else c for c in columns))
        )
    return indexes


def _target_table(target: Any) -> str:
    if isinstance(target, str):
        return table_name_for(target)
    return str(target.__tablename__)


def _add_relation(cls: type[Model], name: str, rel: Relation) -> None:
    if rel.kind == "many_to_many":
        _add_many_to_many(cls, name, rel)
        return
    column_name = f"{name}_id"
    ondelete = "RESTRICT" if rel.on_delete == "PROTECT" else rel.on_delete
    column = mapped_column(
        column_name,
        sa.ForeignKey(f"{_target_table(rel.target)}.id", ondelete=ondelete),
        nullable=rel.null,
        index=rel.index,
        unique=rel.kind == "one_to_one" or None,
        info=rel.options.get("info", {}),
    )
    setattr(cls, column_name, column)
    reverse = None
    if rel.related_name:
        reverse = backref(
            rel.related_name,
            uselist=rel.kind != "one_to_one",
            # The database applies ON DELETE; the ORM must not null or load the children.
            passive_deletes="all" if rel.on_delete in ("RESTRICT", "PROTECT") else True,
            lazy="select",
        )
    target = rel.target if isinstance(rel.target, str) else rel.target.__name__
    options: dict[str, Any] = {}
    if target == cls.__name__:  # a tree (comment -> parent comment): this side is "many"
        options["remote_side"] = f"{cls.__name__}.id"
    setattr(
        cls,
        name,
        relationship(
            target, foreign_keys=[column.column], backref=reverse, lazy="select", **options
        ),
    )


def _add_many_to_many(cls: type[Model], name: str, rel: Relation) -> None:
    target = rel.target if isinstance(rel.target, str) else rel.target.__name__
    if rel.through is not None:
        through = rel.through
        secondary: Any = (
            (lambda: through.__table__)
            if not isinstance(through, str)
            else (table_name_for(through))
        )
    else:
        own, other = cls.__tablename__, _target_table(rel.target)
        secondary = sa.Table(
            f"{own}_{name}",
            cls.metadata,
            sa.Column(
                f"{own}_id", sa.ForeignKey(f"{own}.id", ondelete="CASCADE"), primary_key=True
            ),
            sa.Column(
                f"{other}_id", sa.ForeignKey(f"{other}.id", ondelete="CASCADE"), primary_key=True
            ),
        )
    # NOTE: with an explicit through model, rows are written through that model (it may
    # carry extra columns); the link itself is read-only, so the two never disagree.
    viewonly = rel.through is not None
    reverse = (
        backref(rel.related_name, lazy="select", viewonly=viewonly) if rel.related_name else None
    )
    setattr(
        cls,
        name,
        relationship(
            target, secondary=secondary, backref=reverse, lazy="select", viewonly=viewonly
        ),
    )


__all__ = ["NAMING_CONVENTION", "Model", "ModelValidationError", "table_name_for"]
