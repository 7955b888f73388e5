"""Form fields from model columns: which widget, how submitted text becomes a value and
how a value is written back into a widget.

A ``FieldSpec`` is what a model offers under a name (a column, a to-one relation or a
many-to-many link); a ``FormField`` is how the admin edits it::

    spec = field_spec(Article, "author")       # the relation, with its author_id column
    field = form_field(spec)                   # a <select> of users
    parse(field, ["7"])                        # 7, the user's id
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kettle import timezones
from kettle._integers import parse_int
from kettle.admin._display import field_label
from kettle.db.fields import FieldInfo, info_of

_TEXT_WIDGETS = {"string": "text", "email": "email", "url": "url", "uuid": "text"}
_TRUE = frozenset({"on", "1", "true", "yes"})


class InvalidValue(ValueError):
    """Submitted text that does not convert to the field's type; the message is for the
    user: ``raise InvalidValue("Enter a whole number.")``."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What ``model`` offers under ``name``: a column, a to-one relation (``column`` is
    its foreign key) or a many-to-many link (``many``)::

        field_spec(Article, "title").column.type   # VARCHAR(200)
    """

    #: The model class the field belongs to: ``Article``.
    model: type[Any]
    #: The field's name on the model, as forms and ``list_display`` use it: ``"author"``
    #: for a relation, not ``"author_id"``.
    name: str
    #: The SQLAlchemy ``Column``: the foreign key of a to-one relation; None for a
    #: many-to-many link.
    column: Any
    #: Kettle's options of the column (``FieldInfo``); None for a plain SQLAlchemy column
    #: or a many-to-many link.
    info: FieldInfo | None
    #: What sort of field it is, as ``FieldInfo.kind`` says (``"string"``, ``"integer"``,
    #: ``"foreign_key"``, ``"many_to_many"``, ...); guessed from the SQL type for a plain
    #: SQLAlchemy column.
    kind: str
    #: The related model of a relation (``User`` for ``author``); None for a column.
    target: type[Any] | None = None
    #: True for a many-to-many link, edited as a list of related objects.
    many: bool = False

    @property
    def nullable(self) -> bool:
        """Whether the column may hold NULL (a many-to-many link is never required)."""
        return self.many or bool(self.column is not None and self.column.nullable)

    @property
    def has_default(self) -> bool:
        """Whether the database or the model fills the column when no value is given."""
        column = self.column
        return column is not None and (
            column.default is not None or column.server_default is not None
        )

    @property
    def editable(self) -> bool:
        """Whether forms may write it (``editable=False`` fields are shown read-only)."""
        return self.info is None or self.info.editable

    @property
    def unique(self) -> bool:
        """Whether the column has a unique constraint of its own."""
        return bool(self.column is not None and self.column.unique)


def _kind_of(column: Any) -> str:
    """A kind for columns declared with plain SQLAlchemy (no Kettle field)."""
    kind = column.type
    for sa_type, name in (
        (sa.Boolean, "boolean"),
        (sa.BigInteger, "big_integer"),
        (sa.Integer, "integer"),
        (sa.Float, "float"),
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Enum, "enum"),
        (sa.Text, "text"),
        (sa.String, "string"),
        (sa.Uuid, "uuid"),
        (sa.JSON, "json"),
    ):
        if isinstance(kind, sa_type) or isinstance(getattr(kind, "impl", None), sa_type):
            return name
    return "text"


def field_spec(model: type[Any], name: str) -> FieldSpec | None:
    """The field ``model`` offers under ``name``, or None if it has none::

    field_spec(Article, "tags").many   # True
    """
    mapper = sa.inspect(model)
    table = model.__table__
    for column in table.columns:
        info = info_of(column)
        if info is not None and info.relation == name:
            rel = mapper.relationships[name]
            return FieldSpec(model, name, column, info, info.kind, rel.mapper.class_)
        if column.key == name and not column.primary_key:
            if info is not None and info.relation is not None:
                return None  # author_id is edited as "author"
            kind = info.kind if info is not None else _kind_of(column)
            return FieldSpec(model, name, column, info, kind)
    rel = mapper.relationships.get(name)
    if rel is not None and rel.secondary is not None and not rel.viewonly:
        return FieldSpec(model, name, None, None, "many_to_many", rel.mapper.class_, many=True)
    return None


def field_names(model: type[Any]) -> list[str]:
    """Every name ``field_spec`` knows, in declaration order (columns, then links)::

    field_names(Article)   # ["title", "url", ..., "author", "tags"]
    """
    names: list[str] = []
    for column in model.__table__.columns:
        if column.primary_key:
            continue
        info = info_of(column)
        names.append(info.relation if info is not None and info.relation else column.key)
    for rel in sa.inspect(model).relationships:
        if rel.secondary is not None and not rel.viewonly:
            names.append(rel.key)
    return names


@dataclass(slots=True)
class FormField:
    """How the admin edits one field: the widget and what the template needs for it.

    ``widget`` is one of text, email, url, textarea, number, checkbox, select,
    multiselect, date, datetime, json and autocomplete::

        form_field(field_spec(Article, "score")).widget   # "number"
    """

    #: The model field it edits.
    spec: FieldSpec
    #: The ``<label>`` text: the field's ``verbose_name``, else its name in words.
    label: str
    #: Which input the template draws (see above): ``"text"``, ``"select"``, ...
    widget: str
    #: Whether the form refuses an empty value (the input gets ``required``); off for a
    #: field that is nullable, has a default or allows blank.
    required: bool
    #: The field's ``help_text``, shown under the input.
    help_text: str = ""
    #: The input's ``maxlength`` (the column's ``max_length``); None for no limit.
    max_length: int | None = None
    #: A number input's ``step``: ``"1"`` for integers, ``"0.01"`` for a decimal with
    #: two places, ``"any"`` for floats; None for other widgets.
    step: str | None = None
    #: ``(value, label)`` pairs of a select, values as the form sends them.
    choices: list[tuple[str, str]] = field(default_factory=list)
    #: The JSON endpoint an autocomplete widget asks.
    autocomplete_url: str | None = None
    #: How a related row is named (the related model admin's ``object_repr``).
    describe: Callable[[Any], str] | None = None

    @property
    def name(self) -> str:
        """The field's name (also the form key, after the form's prefix)."""
        return self.spec.name


def form_field(spec: FieldSpec, *, autocomplete_url: str | None = None) -> FormField:
    """The ``FormField`` for ``spec``; relation choices are filled in by the caller::

    form_field(field_spec(Article, "status")).choices   # [("draft", "Draft"), ...]
    """
    info = spec.info
    label = field_label(spec.model, spec.name)
    help_text = info.help_text if info is not None else ""
    blank = info.blank if info is not None else spec.nullable
    required = not spec.nullable and not spec.has_default and not blank
    made = FormField(spec, label, "text", required, help_text)
    kind = spec.kind
    if spec.many:
        made.widget = "multiselect"
    elif spec.target is not None:
        made.widget = "autocomplete" if autocomplete_url else "select"
        made.autocomplete_url = autocomplete_url
        if made.widget == "select":
            made.choices = [("", "---------")]
    elif info is not None and info.choices:
        made.widget = "select"
        empty = [("", "---------")] if spec.nullable or not spec.has_default else []
        made.choices = empty + [(_text(value), str(lbl)) for value, lbl in info.choices]
    elif kind == "boolean":
        if spec.nullable:
            made.widget = "select"
            made.choices = [("", "Unknown"), ("true", "Yes"), ("false", "No")]
        else:
            made.widget, made.required = "checkbox", False
    elif kind in ("integer", "big_integer"):
        made.widget, made.step = "number", "1"
    elif kind == "float":
        made.widget, made.step = "number", "any"
    elif kind == "decimal":
        places = info.decimal_places if info is not None else None
        made.widget = "number"
        made.step = f"{decimal.Decimal(1).scaleb(-places)}" if places else "any"
    elif kind in ("date", "datetime", "json"):
        made.widget = kind
    elif kind == "text":
        made.widget = "textarea"
    else:
        made.widget = _TEXT_WIDGETS.get(kind, "text")
    if info is not None and spec.target is None:
        made.max_length = info.max_length
    return made


# --- text -> value ---------------------------------------------------------------------------
def parse(made: FormField, values: Sequence[str]) -> Any:
    """The value of ``made`` from the texts a form sent for it (empty list: none sent).

    Raises ``InvalidValue`` with a message for the user; related objects come back as
    primary keys (a list of them for many-to-many), checked by the form::

        parse(form_field(field_spec(Article, "score")), ["12"])   # 12
    """
    spec = made.spec
    if spec.many:
        return [_pk(spec.target, v) for v in values if v.strip()]
    if made.widget == "checkbox":
        return bool(values) and values[-1].strip().lower() in _TRUE
    text = (values[-1] if values else "").strip()
    if "\x00" in text:
        raise InvalidValue("Remove the NUL character from this value; it cannot be stored.")
    if text == "":
        if spec.kind in ("string", "text", "email", "url") and not spec.nullable:
            return ""
        return None
    if spec.target is not None:
        return _pk(spec.target, text)
    info = spec.info
    if info is not None and info.choices:
        return _choice(spec, text)
    return _convert(spec, text)


def _choice(spec: FieldSpec, text: str) -> Any:
    assert spec.info is not None
    for value, _ in spec.info.choices:
        if _text(value) == text:
            enum_class = getattr(spec.column.type, "enum_class", None)
            if enum_class is not None and issubclass(enum_class, enum.Enum):
                return enum_class(value)
            return value
    allowed = ", ".join(_text(v) for v, _ in spec.info.choices)
    raise InvalidValue(f"Select a valid choice; {text!r} is not one of {allowed}.")


def _convert(spec: FieldSpec, text: str) -> Any:
    kind = spec.kind
    try:
        if kind in ("integer", "big_integer"):
            return parse_int(text)  # the range is checked when the model is validated
        if kind == "float":
            number = float(text)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(text)
            return number
        if kind == "decimal":
            return decimal.Decimal(text)
        if kind == "boolean":
            return text.lower() in _TRUE
        if kind == "date":
            return dt.date.fromisoformat(text)
        if kind == "datetime":
            # A naive time is the user's local time (kettle.timezones), stored as UTC.
            return timezones.from_local(dt.datetime.fromisoformat(text)).astimezone(dt.UTC)
        if kind == "uuid":
            return uuid.UUID(text)
        if kind == "json":
            return json.loads(text) if text.strip() else None
    except (timezones.AmbiguousTime, timezones.NonexistentTime) as error:
        raise InvalidValue(str(error)) from None
    except (ValueError, decimal.InvalidOperation):
        message = _MESSAGES.get(kind, "Enter a valid value.")
        raise InvalidValue(message.replace("UTC", timezones.current_zone().key)) from None
    return text


_MESSAGES = {
    "integer": "Enter a whole number.",
    "big_integer": "Enter a whole number.",
    "float": "Enter a number.",
    "decimal": "Enter a number.",
    "date": "Enter a valid date (YYYY-MM-DD).",
    "datetime": "Enter a valid date and time (YYYY-MM-DD HH:MM, in UTC).",
    "uuid": "Enter a valid UUID.",
    "json": "Enter valid JSON.",
}


def _pk(target: Any, text: str) -> Any:
    column = sa.inspect(target).primary_key[0]
    if "\x00" in text:
        raise InvalidValue("Select a valid choice.")
    try:
        if isinstance(column.type, sa.Integer):
            return parse_int(text)  # one no row can have is refused when the form checks it
        return column.type.python_type(text)
    except (ValueError, TypeError, NotImplementedError):
        raise InvalidValue("Select a valid choice.") from None


# --- value -> text ---------------------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def widget_text(made: FormField, value: Any) -> Any:
    """What the widget shows for ``value``: text, a list of texts (multiselect) or a
    bool (checkbox)::

        widget_text(datetime_field, stamp)   # "2024-05-01T09:30:00"
    """
    if made.widget == "checkbox":
        return bool(value)
    if made.spec.many:
        return [_text(v) for v in value or ()]
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # shown in the user's zone (kettle.timezones)
            value = timezones.localtime(value)
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if made.spec.kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return _text(value)


__all__ = [
    "FieldSpec",
    "FormField",
    "InvalidValue",
    "field_names",
    "field_spec",
    "form_field",
    "parse",
    "widget_text",
]
