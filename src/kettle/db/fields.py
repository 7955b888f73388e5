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
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import MappedColumn, mapped_column

Validator = Callable[[Any], None]
OnDelete = Literal["CASCADE", "SET NULL", "RESTRICT", "PROTECT"]
CASCADE: OnDelete = "CASCADE"
SET_NULL: OnDelete = "SET NULL"
RESTRICT: OnDelete = "RESTRICT"
#: Refuse in the ORM and the database to delete a row that others still point at.
PROTECT: OnDelete = "PROTECT"
_UNSET: Any = object()


class FieldValidationError(ValueError):
    """A value does not satisfy a field's validators; ``message`` says why."""


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """Kettle's options for one column, kept in ``column.info["kettle"]``."""

    kind: str
    max_length: int | None = None
    choices: tuple[tuple[Any, str], ...] = ()
    validators: tuple[Validator, ...] = ()
    blank: bool = False
    editable: bool = True
    help_text: str = ""
    verbose_name: str = ""


def info_of(column: Any) -> FieldInfo | None:
    """The Kettle options of a column, or None for a plain SQLAlchemy column."""
    value = column.info.get("kettle")
    return value if isinstance(value, FieldInfo) else None


def now() -> dt.datetime:
    """The current time in UTC (what ``auto_now`` and ``auto_now_add`` store)."""
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
        blank=null if blank is None else blank,
        editable=editable,
        help_text=help_text,
        verbose_name=verbose_name,
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
    """``VARCHAR(max_length)``; longer values fail validation before reaching the database."""
    if max_length <= 0:
        raise ValueError(f"fields.string needs a positive max_length, got {max_length}.")
    return _column("string", sa.String(max_length), max_length=max_length, **options)


def text(**options: Any) -> Any:
    """Unbounded text (``TEXT``)."""
    return _column("text", sa.Text(), **options)


def integer(**options: Any) -> Any:
    """A 32-bit integer."""
    return _column("integer", sa.Integer(), **options)


def big_integer(**options: Any) -> Any:
    """A 64-bit integer."""
    return _column("big_integer", sa.BigInteger(), **options)


def float(**options: Any) -> Any:
    """A double-precision float."""
    return _column("float", sa.Float(), **options)


def decimal(max_digits: int, decimal_places: int, **options: Any) -> Any:
    """A fixed-point number (``NUMERIC(max_digits, decimal_places)``) as ``Decimal``."""
    return _column("decimal", sa.Numeric(max_digits, decimal_places, asdecimal=True), **options)


def boolean(**options: Any) -> Any:
    """``True``/``False``; defaults to ``False`` unless another default is given."""
    options.setdefault("default", False)
    return _column("boolean", sa.Boolean(), **options)


def datetime(*, auto_now: bool = False, auto_now_add: bool = False, **options: Any) -> Any:
    """A timezone-aware timestamp; ``auto_now_add`` sets it on insert, ``auto_now`` on
    every save."""
    if auto_now or auto_now_add:
        options.setdefault("default", now)
        options.setdefault("editable", False)
    if auto_now:
        options["onupdate"] = now
    return _column("datetime", sa.DateTime(timezone=True), **options)


def date(**options: Any) -> Any:
    """A calendar date."""
    return _column("date", sa.Date(), **options)


def uuid(**options: Any) -> Any:
    """A UUID (native on PostgreSQL, 32 characters elsewhere)."""
    return _column("uuid", sa.Uuid(), **options)


def json(**options: Any) -> Any:
    """A JSON document (native JSON types where the database has them)."""
    return _column("json", sa.JSON(), **options)


def enum(enum_class: type[Enum], **options: Any) -> Any:
    """One member of ``enum_class``, stored by value; choices come from the enum."""
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
    """Accept http(s) URLs only (no javascript:, data: or relative links)."""
    if not isinstance(value, str) or not _URL.match(value):
        raise FieldValidationError("Enter a valid http:// or https:// URL.")


def validate_email(value: Any) -> None:
    """A light syntax check: one @ and a dot in the domain."""
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise FieldValidationError("Enter a valid e-mail address.")


def url(max_length: int = 2000, **options: Any) -> Any:
    """A web address, validated as http(s)."""
    options["validators"] = (validate_url, *options.get("validators", ()))
    return _column("url", sa.String(max_length), max_length=max_length, **options)


def email(max_length: int = 254, **options: Any) -> Any:
    """An e-mail address."""
    options["validators"] = (validate_email, *options.get("validators", ()))
    return _column("email", sa.String(max_length), max_length=max_length, **options)


# --- relations -------------------------------------------------------------------------------
@dataclass(slots=True)
class Relation:
    """A relation declared on a model; the model turns it into columns and relationships."""

    kind: Literal["foreign_key", "one_to_one", "many_to_many"]
    target: Any
    related_name: str | None = None
    on_delete: OnDelete = CASCADE
    null: bool = False
    through: Any = None
    index: bool = True
    options: dict[str, Any] = field(default_factory=dict)


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
    names the reverse list on the target (``user.articles``).
    """
    if on_delete == SET_NULL and not null:
        raise ValueError("on_delete=SET_NULL needs null=True, or the column cannot be set null.")
    return Relation("foreign_key", target, related_name, on_delete, null, options=options)


def one_to_one(
    target: Any,
    *,
    related_name: str | None = None,
    on_delete: OnDelete = CASCADE,
    null: bool = False,
    **options: Any,
) -> Any:
    """A unique foreign key; the reverse side is a single object, not a list."""
    return Relation("one_to_one", target, related_name, on_delete, null, options=options)


def many_to_many(target: Any, *, through: Any = None, related_name: str | None = None) -> Any:
    """A many-to-many link, through an explicit model (with extra columns) or a plain
    association table that Kettle creates."""
    return Relation("many_to_many", target, related_name, through=through)


__all__ = [
    "CASCADE",
    "PROTECT",
    "RESTRICT",
    "SET_NULL",
    "FieldInfo",
    "FieldValidationError",
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
