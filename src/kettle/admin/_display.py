"""How the admin names models and fields and shows values as text.

Everything here is pure: no SQL, no request. Values are turned into short strings for
list cells, read-only fields and the change history::

    verbose_name(ArticleVote)          # "article vote"
    display_value(True)                # "Yes"
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
from typing import Any

import sqlalchemy as sa

from kettle import timezones
from kettle.db.fields import FieldInfo, info_of

#: What an empty value looks like in lists and read-only fields.
EMPTY = "—"
NAME_HINTS = ("name", "title", "username", "label", "slug", "email", "code")
_ACRONYMS = frozenset(
    {"api", "css", "html", "http", "https", "id", "ip", "json", "sku", "url", "uuid"}
)


def _words(name: str) -> str:
    text = re.sub(r"(?<!^)(?=[A-Z])", " ", name).replace("_", " ").lower().strip()
    return " ".join(w.upper() if w in _ACRONYMS else w for w in text.split())


def verbose_name(model: type[Any]) -> str:
    """``Meta.verbose_name`` of a model, else its class name in words::

    verbose_name(ArticleVote)   # "article vote"
    """
    meta = getattr(model, "Meta", None)
    return str(getattr(meta, "verbose_name", None) or _words(model.__name__))


def verbose_name_plural(model: type[Any]) -> str:
    """``Meta.verbose_name_plural``, else the verbose name with an "s" (or "es", "ies")::

    verbose_name_plural(Category)   # "categories"
    """
    meta = getattr(model, "Meta", None)
    given = getattr(meta, "verbose_name_plural", None)
    if given:
        return str(given)
    name = verbose_name(model)
    if name.endswith("y") and name[-2:-1] not in "aeiou":
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    return name + "s"


def capfirst(text: str) -> str:
    """``text`` with its first letter upper-case: ``capfirst("blog post")`` is "Blog post"."""
    return text[:1].upper() + text[1:]


def field_label(model: type[Any], name: str) -> str:
    """The label of field ``name``: its ``verbose_name``, else the name in words::

    field_label(Article, "created_at")   # "Created at"
    """
    table = getattr(model, "__table__", None)
    if table is not None:
        for column in table.columns:
            info = info_of(column)
            if column.key == name or (info is not None and info.relation == name):
                if info is not None and info.verbose_name:
                    return capfirst(info.verbose_name)
                break
    return capfirst(_words(name))


def object_repr(obj: Any) -> str:
    """A short text naming ``obj``: its ``__str__`` if the model defines one, else its
    first name-like column, else "<verbose name> #<id>"::

        object_repr(article)   # "Why kettles whistle"
    """
    model = type(obj)
    if _defines_str(model):
        return str(obj)
    table = getattr(model, "__table__", None)
    if table is not None:
        texts = [c for c in table.columns if isinstance(c.type, sa.String) and not c.primary_key]
        keys = {c.key for c in texts}
        for hint in NAME_HINTS:
            if hint in keys:
                value = getattr(obj, hint, None)
                if value:
                    return str(value)
        for column in texts:
            value = getattr(obj, column.key, None)
            if isinstance(value, str) and value:
                return value[:80]
    pk = pk_text(obj)
    return f"{capfirst(verbose_name(model))} #{pk or '(new)'}"


def _defines_str(model: type[Any]) -> bool:
    from kettle.db.models import Model

    for klass in model.__mro__:
        if klass is Model or klass is object:
            return False
        if "__str__" in klass.__dict__:
            return True
    return False


def pk_text(obj: Any) -> str:
    """The primary key of a saved object as text (the form URLs take): ``"7"``."""
    identity = sa.inspect(obj).identity
    return str(identity[0]) if identity else ""


def choice_label(info: FieldInfo | None, value: Any) -> str | None:
    """The label of ``value`` among a field's choices, or None if it has none."""
    if info is None or not info.choices:
        return None
    raw = value.value if isinstance(value, enum.Enum) else value
    for choice, label in info.choices:
        if choice == raw or str(choice) == str(raw):
            return label
    return None


def display_value(value: Any, info: FieldInfo | None = None) -> str:
    """``value`` as text for a list cell, a read-only field or the history::

    display_value(None)                                  # "—"
    display_value(dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC))   # "2024-05-01 09:30 UTC"
    """
    if value is None or value == []:
        return EMPTY
    label = choice_label(info, value)
    if label is not None:
        return label
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # in the user's zone, named (kettle.timezones)
            return timezones.local_datetime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dict | list) and not _is_models(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, list | tuple | set):
        return ", ".join(display_value(v) for v in value) or EMPTY
    if hasattr(type(value), "__table__"):
        return object_repr(value)
    return str(value)


def _is_models(value: Any) -> bool:
    return isinstance(value, list) and any(hasattr(type(v), "__table__") for v in value)


def short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: for the history."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "EMPTY",
    "NAME_HINTS",
    "capfirst",
    "choice_label",
    "display_value",
    "field_label",
    "object_repr",
    "pk_text",
    "short",
    "verbose_name",
    "verbose_name_plural",
]
