"""Field declarations for models: Django's options on SQLAlchemy columns.

Each function returns a real SQLAlchemy ``mapped_column`` (or, for relations, a spec the
model turns into a foreign-key column plus a ``relationship``); Kettle's own options
(choices, validators, max length) ride along in ``Column.info["kettle"]`` for validation,
forms and the admin::

    class Article(Model):
        title: str = fields.string(max_length=200)
        url: str | None = fields.url(null=True)
        created: datetime = fields.datetime(auto_now_add=True)
        author: User = fields.foreign_key(User, related_name="articles")

Timestamps are stored in UTC on every engine and always read back timezone-aware.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import MappedColumn, mapped_column

Validator = Callable[[Any], None]
OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT", "PROTECT"]
#: Deleting a row deletes the rows that point at it (the default ``on_delete``):
#: ``fields.foreign_key(Article, on_delete=CASCADE)`` drops an article's comments with it.
CASCADE: OnDelete = "CASCADE"
#: Deleting a row sets the pointing rows' foreign key to NULL; the relation must be
#: ``null=True``.
SET_NULL: OnDelete = "SET NULL"
#: The database refuses to delete a row that others still point at.
RESTRICT: OnDelete = "RESTRICT"
#: Like ``RESTRICT`` (the database refuses); the intent reads as Django's ``PROTECT``.
PROTECT: OnDelete = "PROTECT"
_UNSET: Any = object()


class FieldValidationError(ValueError):
    """A value does not satisfy a field's validators; ``str(error)`` says why.

    Custom validators raise it (or ``ValueError``)::

        def even(value: int) -> None:
            if value % 2:
                raise FieldValidationError("Enter an even number.")
    """


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """Kettle's options for one column, kept in ``column.info["kettle"]``::

    info_of(Article.__table__.c.title).max_length   # 200
    """

    #: Which field function made the column (``"string"``, ``"integer"``, ``"datetime"``,
    #: ``"foreign_key"``, ...): what validation and the admin's widgets go by.
    kind: str
    #: The most characters a string may have (``fields.string(max_length=200)``); None
    #: for no limit.
    max_length: int | None = None
    #: The allowed values with their labels, ``((value, label), ...)``; an ``Enum`` given
    #: as ``choices=`` becomes its members' values and names. Empty allows any value.
    choices: tuple[tuple[Any, str], ...] = ()
    #: Callables that ``full_clean()`` runs on a non-None value; each raises
    #: ``FieldValidationError`` (or ``ValueError``) to reject it.
    validators: tuple[Validator, ...] = ()
    #: Whether forms and ``full_clean()`` accept an empty string (or no value); on by
    #: default for a column that is nullable or has a default.
    blank: bool = False
    #: Whether forms (and the admin) let people edit the value; False for values the
    #: code sets, such as a password hash.
    editable: bool = True
    #: A sentence shown under the field in forms and the admin: ``"Shown in lists."``.
    help_text: str = ""
    #: The field's label in forms and the admin; empty derives one from its name
    #: (``pub_date`` is "Pub date").
    verbose_name: str = ""
    #: ``fields.datetime(auto_now=True)``: ``save()`` stamps it on every save.
    auto_now: bool = False
    #: For a decimal: how many digits it holds in all, both sides of the point.
    max_digits: int | None = None
    #: For a decimal: how many of ``max_digits`` come after the point.
    decimal_places: int | None = None
    #: For the ``<name>_id`` column of a relation: the relation's name and ``on_delete``.
    relation: str | None = None
    #: For the ``<name>_id`` column of a relation: what deleting the row it points at
    #: does (``"CASCADE"``, ``"SET NULL"``, ``"RESTRICT"`` or ``"PROTECT"``).
    on_delete: str | None = None


def info_of(column: Any) -> FieldInfo | None:
    """The Kettle options of a column, or None for a plain SQLAlchemy column::

    info_of(Article.__table__.c.status).choices   # (("draft", "Draft"), ...)
    """
    value = column.info.get("kettle")
    return value if isinstance(value, FieldInfo) else None


def now() -> dt.datetime:
    """The current time in UTC (what ``auto_now`` and ``auto_now_add`` store)::

    Article.objects.filter(created__gte=now() - timedelta(days=7))
    """
    return dt.datetime.now(dt.UTC)


def _column(
    kind: str,
    sa_type: Any,
    *,
    null: bool = False,
    default: Any = _UNSET,
    unique: bool = False,
    index: bool = False,
    choices: Sequence[tuple[Any, str]] | type[Enum] | None = None,
    validators: Sequence[Validator] = (),
    max_length: int | None = None,
    primary_key: bool = False,
    server_default: Any = None,
    onupdate: Any = None,
    blank: bool | None = None,
    editable: bool = True,
    help_text: str = "",
    verbose_name: str = "",
    name: str | None = None,
    auto_now: bool = False,
    max_digits: int | None = None,
    decimal_places: int | None = None,
) -> Any:
    if isinstance(choices, type) and issubclass(choices, Enum):
        pairs = tuple((m.value, m.name.replace("_", " ").title()) for m in choices)
    else:
        pairs = tuple(choices or ())
    info = FieldInfo(
        kind=kind,
        max_length=max_length,
        choices=pairs,
        validators=tuple(validators),
        # A field with a default may be left empty: the default fills it.
        blank=(null or default is not _UNSET or server_default is not None)
        if blank is None
        else blank,
        editable=editable,
        help_text=help_text,
        verbose_name=verbose_name,
        auto_now=auto_now,
        max_digits=max_digits,
        decimal_places=decimal_places,
    )
    kwargs: dict[str, Any] = {
        "nullable": null,
        "unique": unique or None,
        "index": index or None,
        "primary_key": primary_key,
        "info": {"kettle": info},
    }
    if default is not _UNSET:
        kwargs["default"] = default
    if server_default is not None:
        kwargs["server_default"] = server_default
    if onupdate is not None:
        kwargs["onupdate"] = onupdate
    column: MappedColumn[Any] = (
        mapped_column(name, sa_type, **kwargs) if name else mapped_column(sa_type, **kwargs)
    )
    return column


# --- scalar fields -------------------------------------------------------------------------
def string(max_length: int, **options: Any) -> Any:
    """``VARCHAR(max_length)``; longer values fail validation before reaching the database.

    ::

        title: str = fields.string(max_length=200)
    """
    if max_length <= 0:
        raise ValueError(f"fields.string needs a positive max_length, got {max_length}.")
    return _column("string", sa.String(max_length), max_length=max_length, **options)


def text(**options: Any) -> Any:
    """Unbounded text (``TEXT``; ``LONGTEXT`` on MySQL and MariaDB, whose ``TEXT`` stops
    at 64 KB): ``body: str = fields.text(default="")``."""
    # Up to 4 GB on MySQL/MariaDB too, as Django's TextField maps it.
    return _column("text", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), **options)


def integer(**options: Any) -> Any:
    """A 32-bit integer: ``score: int = fields.integer(default=0)``."""
    return _column("integer", sa.Integer(), **options)


def big_integer(**options: Any) -> Any:
    """A 64-bit integer: ``views: int = fields.big_integer(default=0)``."""
    return _column("big_integer", sa.BigInteger(), **options)


def float(**options: Any) -> Any:
    """A double-precision float: ``latitude: float = fields.float()``."""
    return _column("float", sa.Float(), **options)


def decimal(max_digits: int, decimal_places: int, **options: Any) -> Any:
    """A fixed-point number (``NUMERIC(max_digits, decimal_places)``) as ``Decimal``;
    values with more digits fail validation instead of being rounded by the database.

    ::

        price: Decimal = fields.decimal(8, 2)
    """
    return _column(
        "decimal",
        sa.Numeric(max_digits, decimal_places, asdecimal=True),
        max_digits=max_digits,
        decimal_places=decimal_places,
        **options,
    )


def boolean(**options: Any) -> Any:
    """``True``/``False``; defaults to ``False`` unless another default is given.

    ::

        is_editor: bool = fields.boolean()
    """
    options.setdefault("default", False)
    return _column("boolean", sa.Boolean(), **options)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC on every engine and read back timezone-aware.

    PostgreSQL has ``timestamptz``; SQLite and MariaDB store the UTC wall-clock time
    (MariaDB with microseconds, which its plain ``DATETIME`` would drop). A naive value
    given to it is taken to be UTC already::

        created: datetime = mapped_column(UTCDateTime())   # what fields.datetime() uses
    """

    #: The SQLAlchemy type it wraps (a timezone-aware ``DateTime``); MariaDB gets
    #: ``DATETIME(6)`` instead, for the microseconds.
    impl = sa.DateTime(timezone=True)
    #: Tells SQLAlchemy that statements using the type may be cached (it has no state).
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if not isinstance(value, dt.datetime):
            return value
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        if dialect.name == "postgresql":
            return utc.replace(tzinfo=dt.UTC)
        return utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return self.from_driver(value)

    @staticmethod
    def from_driver(value: Any) -> Any:
        """The driver's value as an aware UTC datetime (None and non-datetimes as given);
        the fast read path (``_hydrate``) calls it directly::

            UTCDateTime.from_driver(datetime(2026, 1, 1))   # 2026-01-01 00:00:00+00:00
        """
        if not isinstance(value, dt.datetime):
            return value
        tzinfo = value.tzinfo
        if tzinfo is dt.UTC:  # PERF: asyncpg's timestamptz, already what is wanted
            return value
        if tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def datetime(*, auto_now: bool = False, auto_now_add: bool = False, **options: Any) -> Any:
    """A timezone-aware timestamp (see ``UTCDateTime``); ``auto_now_add`` sets it on
    insert, ``auto_now`` on every ``save()`` and ``update()``.

    ::

        created: datetime = fields.datetime(auto_now_add=True)
        updated: datetime = fields.datetime(auto_now=True)
    """
    if auto_now or auto_now_add:
        options.setdefault("default", now)
        options.setdefault("editable", False)
    if auto_now:
        options["onupdate"] = now
    return _column("datetime", UTCDateTime(), auto_now=auto_now, **options)


def date(**options: Any) -> Any:
    """A calendar date: ``born: date | None = fields.date(null=True)``."""
    return _column("date", sa.Date(), **options)


def uuid(**options: Any) -> Any:
    """A UUID (native on PostgreSQL, 32 characters elsewhere).

    ::

        token: UUID = fields.uuid(default=uuid.uuid4, unique=True)
    """
    return _column("uuid", sa.Uuid(), **options)


def json(**options: Any) -> Any:
    """A JSON document (native JSON types where the database has them).

    ::

        settings: dict[str, Any] = fields.json(default=dict)
    """
    return _column("json", sa.JSON(), **options)


def enum(enum_class: type[Enum], **options: Any) -> Any:
    """One member of ``enum_class``, stored by value; choices come from the enum. The
    database refuses other values: the table has a CHECK of the members
    (``ck_<table>_<column>_enum``), from ``create_all`` and migrations alike.

    ::

        status: Status = fields.enum(Status, default=Status.DRAFT)
    """
    options.setdefault("choices", enum_class)
    sa_type = sa.Enum(
        enum_class,
        values_callable=lambda members: [str(m.value) for m in members],
        native_enum=False,
        validate_strings=True,
        length=max(len(str(m.value)) for m in enum_class),
    )
    return _column("enum", sa_type, **options)


_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_url(value: Any) -> None:
    """Accept http(s) URLs only (no javascript:, data: or relative links).

    ::

        validate_url("javascript:alert(1)")   # raises FieldValidationError
    """
    if not isinstance(value, str) or not _URL.match(value):
        raise FieldValidationError("Enter a valid http:// or https:// URL.")


def validate_email(value: Any) -> None:
    """A light syntax check: one @ and a dot in the domain.

    ::

        validate_email("ann@example.org")   # passes
    """
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise FieldValidationError("Enter a valid e-mail address.")


def url(max_length: int = 2000, **options: Any) -> Any:
    """A web address, validated as http(s): ``url: str | None = fields.url(null=True)``."""
    options["validators"] = (validate_url, *options.get("validators", ()))
    return _column("url", sa.String(max_length), max_length=max_length, **options)


def email(max_length: int = 254, **options: Any) -> Any:
    """An e-mail address: ``email: str = fields.email(unique=True)``."""
    options["validators"] = (validate_email, *options.get("validators", ()))
    return _column("email", sa.String(max_length), max_length=max_length, **options)


# --- relations -------------------------------------------------------------------------------
@dataclass(slots=True)
class Relation:
    """A relation declared on a model; the model turns it into columns and relationships.

    ``foreign_key()``, ``one_to_one()`` and ``many_to_many()`` make them::

        fields.foreign_key(User, related_name="articles")   # Relation("foreign_key", User, ...)
    """

    kind: Literal["foreign_key", "one_to_one", "many_to_many"]
    target: Any
    related_name: str | None = None
    on_delete: OnDelete = CASCADE
    null: bool = False
    through: Any = None
    index: bool = True
    options: dict[str, Any] = field(default_factory=dict)


def _check_on_delete(on_delete: str, null: bool) -> None:
    if on_delete not in (CASCADE, SET_NULL, RESTRICT, PROTECT):
        raise ValueError(
            f"on_delete={on_delete!r} is not known; use fields.CASCADE, fields.SET_NULL, "
            "fields.RESTRICT or fields.PROTECT."
        )
    if on_delete == SET_NULL and not null:
        raise ValueError("on_delete=SET_NULL needs null=True, or the column cannot be set null.")


def foreign_key(
    target: Any,
    *,
    related_name: str | None = None,
    on_delete: OnDelete = CASCADE,
    null: bool = False,
    **options: Any,
) -> Any:
    """A many-to-one link: adds ``<name>_id`` and the related object as ``<name>``.

    ``target`` is a model class or its name (for models defined later). ``related_name``
    names the reverse list on the target (``user.articles``); on an abstract model, put
    ``%(class)s`` in it (``"%(class)s_set"``) so each model built on it gets its own
    (``user.note_set``, ``user.task_set``). ``on_delete`` is enforced
    by the database: ``CASCADE`` deletes these rows with the target, ``SET_NULL`` empties
    the link, ``RESTRICT`` and ``PROTECT`` refuse to delete a target still pointed at
    (``delete()`` then raises ``ProtectedError``)::

        author: User = fields.foreign_key(User, related_name="articles")
    """
    _check_on_delete(on_delete, null)
    return Relation("foreign_key", target, related_name, on_delete, null, options=options)


def one_to_one(
    target: Any,
    *,
    related_name: str | None = None,
    on_delete: OnDelete = CASCADE,
    null: bool = False,
    **options: Any,
) -> Any:
    """A unique foreign key; the reverse side is a single object, not a list.

    ::

        user: User = fields.one_to_one(User, related_name="profile")
    """
    _check_on_delete(on_delete, null)
    return Relation("one_to_one", target, related_name, on_delete, null, options=options)


def many_to_many(target: Any, *, through: Any = None, related_name: str | None = None) -> Any:
    """A many-to-many link, through an explicit model (with extra columns) or a plain
    association table that Kettle creates (``<table>_<name>``).

    ::

        tags: list[Tag] = fields.many_to_many(Tag, related_name="articles")
        articles: list[Article] = fields.many_to_many(Article, through="CollectionEntry")

    With a ``through`` model the link is read-only: add and remove rows of that model.
    """
    return Relation("many_to_many", target, related_name, through=through)


__all__ = [
    "CASCADE",
    "PROTECT",
    "RESTRICT",
    "SET_NULL",
    "FieldInfo",
    "FieldValidationError",
    "UTCDateTime",
    "big_integer",
    "boolean",
    "date",
    "datetime",
    "decimal",
    "email",
    "enum",
    "float",
    "foreign_key",
    "info_of",
    "integer",
    "json",
    "many_to_many",
    "now",
    "one_to_one",
    "string",
    "text",
    "url",
    "uuid",
    "validate_email",
    "validate_url",
]
