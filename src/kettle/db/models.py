"""The ``Model`` base: typed declarations that are real SQLAlchemy mapped classes.

Subclasses get a table name, an ``id`` primary key, Django-like ``Meta`` options, the
columns and relationships their relation fields ask for, ``objects`` for queries, and
validation from their fields' options::

    class Article(Model):
        title: str = fields.string(max_length=200)
        author: User = fields.foreign_key(User, related_name="articles")

        class Meta:
            table_name = "news_article"          # default: "article"
            ordering = ["-id"]
            indexes = [("author_id", "-created")]
            constraints = [sa.CheckConstraint("score >= 0", name="score_positive")]

An abstract model (``__abstract__ = True``) has no table; as in Django, each model built
on it gets fresh copies of its fields and links, and its ``Meta`` unless it has its own
(``class Meta(Timestamped.Meta)`` extends it). ``%(class)s`` in a ``related_name`` keeps
the reverse names of those models apart::

    class Timestamped(Model):
        __abstract__ = True
        created: datetime = fields.datetime(auto_now_add=True)
        owner: User = fields.foreign_key(User, related_name="%(class)s_set")

        class Meta:
            ordering = ["-created"]

    class Note(Timestamped):                     # note.created, user.note_set
        text: str = fields.text()

``select(Article)``, relationships and Alembic autogenerate work on them as on any
SQLAlchemy model.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase

from kettle.db import _mapping
from kettle.db._mapping import table_name_for
from kettle.db.fields import FieldInfo, FieldValidationError, info_of, now
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext

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
_TEXT_KINDS = frozenset({"string", "text", "url", "email"})
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "big_integer": (-(2**63), 2**63 - 1)}


class ModelValidationError(HTTPException, ValueError):
    """A model instance failed validation; ``errors`` maps field names to messages.

    Escaping a handler it is a 422 listing each field (``loc`` is ``[model, field]``)::

    try:
        Article(title="x" * 300, author=ann).save()
    except ModelValidationError as error:
        error.errors   # {"title": ["Ensure this value has at most 200 characters (it has 300)."]}
    """

    def __init__(self, model: str, errors: dict[str, list[str]]) -> None:
        self.model = model
        self.errors = errors
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        super().__init__(422, f"{model} is not valid: {details}")

    def __str__(self) -> str:
        return self.detail

    def body(self) -> dict[str, Any]:
        items = [
            {"loc": [self.model, field], "msg": message, "type": "invalid"}
            for field, messages in self.errors.items()
            for message in messages
        ]
        return {**super().body(), "errors": items}


class ProtectedError(HTTPException):
    """The database refused a delete: other rows still point at the ones being deleted
    through an ``on_delete=PROTECT`` (or ``RESTRICT``) link. A 409 Conflict::

        try:
            article.delete()
        except ProtectedError as error:
            error.links   # ["CollectionEntry.article (PROTECT)"]
    """

    def __init__(self, what: str, links: list[str]) -> None:
        self.links = links
        named = links[0] if len(links) == 1 else "one of " + "; ".join(links)
        super().__init__(
            409,
            f"Cannot delete {what}: other rows still point at it through {named}. "
            "Delete those rows (or point them elsewhere) first.",
        )


def delete_guard(model: type[Model]) -> list[str]:
    """The links that may refuse deleting ``model`` rows (empty: deletes never fail so)."""
    # PERF: walked once per model and table count, not on every delete.
    key = len(model.metadata.tables)
    cached = model.__dict__.get("_kettle_guard")
    if cached is None or cached[0] != key:
        cached = (key, _mapping.restricting(model))
        model._kettle_guard = cached
    return cached[1]


class Model(DeclarativeBase):
    """Base class of every Kettle model (see the module docstring)::

    class Tag(Model):
        name: str = fields.string(max_length=30, unique=True)
    """

    __abstract__ = True
    # Annotations are plain Python types (``title: str``); the fields carry the columns.
    __allow_unmapped__ = True
    #: The SQLAlchemy ``MetaData`` holding every model's table, with Kettle's naming
    #: convention for constraints and indexes (so migrations name them the same on every
    #: engine); ``Database.create_all`` and the migrations read it:
    #: ``Model.metadata.tables["auth_user"]``.
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    objects: ClassVar[Manager[Any]]
    #: The ordering of ``Meta.ordering``, as given (``["-created", "title"]``).
    _kettle_ordering: ClassVar[tuple[str, ...]] = ()
    _kettle_guard: ClassVar[tuple[int, list[str]] | None] = None
    #: The fields copied from abstract parents, by name: the parent that declares each.
    _kettle_inherited: ClassVar[dict[str, type[Model]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.__dict__.get("__abstract__", False):
            _mapping.check_abstract(cls)
            super().__init_subclass__(**kwargs)
            return
        _mapping.prepare(cls)
        super().__init_subclass__(**kwargs)
        _mapping.finish(cls)
        from kettle.db.query import Manager

        cls.objects = Manager(cls)

    @property
    def annotations(self) -> dict[str, Any]:
        """Values added by ``annotate()`` for this object (also attributes, unless a name
        is taken by a relation)::

            Article.objects.annotate(votes=Count("votes")).first().annotations["votes"]
        """
        return dict(self.__dict__.get("_kettle_annotations", {}))

    def __repr__(self) -> str:
        pk = self.__dict__.get("id")
        return f"<{type(self).__name__} {pk if pk is not None else '(unsaved)'}>"

    # --- validation --------------------------------------------------------------------
    def validation_errors(self, names: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Check columns (all, or those in ``names``) against their field options::

        Article(title="").validation_errors()
        # {"title": ["This field is required."], "author": ["This field is required."]}
        """
        state = sa.inspect(self)
        wanted = set(names) if names is not None else None
        errors: dict[str, list[str]] = {}
        for column in type(self).__table__.columns:
            info = info_of(column)
            attr = column.key
            if info is None:
                continue
            if wanted is not None and attr not in wanted and info.relation not in wanted:
                continue
            if attr not in state.dict and state.key is not None:
                continue  # not loaded: it is what the database holds
            value = state.dict.get(attr)
            if info.relation is not None:
                # A related object set in memory decides the foreign key on flush.
                history = state.attrs[info.relation].history
                if history.added or history.deleted:
                    value = history.added[0] if history.added else None
                problems = check_value(column, info, value)
                if problems:
                    errors[info.relation] = problems
                continue
            problems = check_value(column, info, value)
            if problems:
                errors[attr] = problems
        return errors

    def full_clean(self) -> None:
        """Raise ``ModelValidationError`` if any field is invalid (``save()`` calls this)::

        Tag(name="x" * 99).full_clean()   # ModelValidationError naming "name"
        """
        errors = self.validation_errors()
        if errors:
            raise ModelValidationError(type(self).__name__, errors)

    # --- persistence (sync and async twins; see kettle.db.query for the naming rule) ------
    def _before_save(self) -> None:
        if sa.inspect(self).key is not None:  # an update: stamp auto_now fields
            stamp = now()
            for column in type(self).__table__.columns:
                info = info_of(column)
                if info is not None and info.auto_now:
                    setattr(self, column.key, stamp)
        self.full_clean()

    def save(self) -> None:
        """Validate, then insert or update this object in the current unit of work::

        article.title = "Renamed"
        article.save()
        """
        from kettle.db.session import sync_session

        self._before_save()
        session = sync_session()
        session.add(self)
        session.flush()

    async def asave(self) -> None:
        """``save()`` for async code: ``await article.asave()``."""
        from kettle.db.session import async_session

        self._before_save()
        session = async_session()
        session.add(self)
        await session.flush()

    def delete(self) -> None:
        """Delete this object; the database applies each link's ``on_delete``, and
        ``ProtectedError`` (a 409) says which link refused::

            user.delete()   # their articles go too (on_delete=CASCADE)
        """
        from kettle.db.session import sync_session

        session = sync_session()
        if not delete_guard(type(self)):
            session.delete(self)
            session.flush()
            return
        try:
            with session.begin_nested():
                session.delete(self)
                session.flush()
        except sa_exc.IntegrityError as error:
            raise ProtectedError(repr(self), delete_guard(type(self))) from error

    async def adelete(self) -> None:
        """``delete()`` for async code: ``await article.adelete()``."""
        from kettle.db.session import async_session

        session = async_session()
        if not delete_guard(type(self)):
            await session.delete(self)
            await session.flush()
            return
        try:
            async with session.begin_nested():
                await session.delete(self)
                await session.flush()
        except sa_exc.IntegrityError as error:
            raise ProtectedError(repr(self), delete_guard(type(self))) from error

    def refresh(self) -> None:
        """Reload this object's columns from the database: ``article.refresh()``."""
        from kettle.db.session import sync_session

        sync_session().refresh(self)

    async def arefresh(self) -> None:
        """``refresh()`` for async code: ``await article.arefresh()``."""
        from kettle.db.session import async_session

        await async_session().refresh(self)


# --- checks ---------------------------------------------------------------------------------
def check_value(column: Any, info: FieldInfo, value: Any) -> list[str]:
    """What is wrong with ``value`` for ``column`` (empty when it is fine)::

    check_value(Article.__table__.c.title, info, "x" * 300)   # ["Ensure this value ..."]
    """
    if value is None:
        required = not column.nullable and not column.primary_key
        has_default = column.default is not None or column.server_default is not None
        return [gettext("This field is required.")] if required and not has_default else []
    if info.kind in _TEXT_KINDS and value == "":
        return [] if info.blank else [gettext("This field is required.")]
    problems: list[str] = []
    if info.max_length is not None and isinstance(value, str) and len(value) > info.max_length:
        problems.append(
            f"Ensure this value has at most {info.max_length} characters (it has {len(value)})."
        )
    if info.kind in _INT_RANGES:
        low, high = _INT_RANGES[info.kind]
        if not isinstance(value, int):
            return [f"Enter a whole number, not {value!r}."]  # validators expect one
        if not low <= value <= high:
            problems.append(f"Ensure this value is between {low} and {high}.")
    if info.kind == "decimal":
        problems.extend(_decimal_problems(value, info))
    if info.kind == "datetime" and not isinstance(value, dt.datetime):
        return [f"Enter a date and time, not {value!r}."]
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


def _decimal_problems(value: Any, info: FieldInfo) -> list[str]:
    try:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return [f"Enter a number, not {value!r}."]
    if not number.is_finite():
        return ["Enter a finite number."]
    _, digits, exponent = number.as_tuple()
    places = max(-int(exponent), 0)
    whole = max(len(digits) - places, 0) if int(exponent) < 0 else len(digits) + int(exponent)
    if number == 0:
        whole = 0
    problems = []
    if info.decimal_places is not None and places > info.decimal_places:
        problems.append(f"Ensure there are at most {info.decimal_places} decimal places.")
    if info.max_digits is not None and info.decimal_places is not None:
        most = info.max_digits - info.decimal_places
        if whole > most:
            problems.append(f"Ensure there are at most {most} digits before the decimal point.")
    return problems


__all__ = [
    "NAMING_CONVENTION",
    "Model",
    "ModelValidationError",
    "ProtectedError",
    "check_value",
    "table_name_for",
]
