"""Column values to JSON and back, exactly: what a fixture holds for each kind of field.

::

    to_json(Decimal("12.340"))                  # "12.340" (a string: no float rounding)
    from_json(Article.__table__.c.rating, "12.340")   # Decimal("12.340")

Dates and times are ISO 8601 strings (with their UTC offset), decimals and UUIDs strings,
enums their value, bytes base64, JSON fields themselves. ``from_json`` raises
``ValueError`` with a message that says what was expected.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import sqlalchemy as sa


def to_json(value: Any) -> Any:
    """A column's value as plain JSON (see the module docstring)::

    to_json(dt.date(1865, 4, 9))   # "1865-04-09"
    """
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def python_type(column: sa.ColumnElement[Any]) -> type | None:
    """The Python type of a column's values, or None when SQLAlchemy does not say (JSON)."""
    type_: Any = column.type
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance  # NOTE: its own python_type says only "object"
    if isinstance(type_, sa.JSON):
        return None
    try:
        kind: type = type_.python_type
    except NotImplementedError:
        return None
    return None if kind is object else kind


def from_json(column: sa.ColumnElement[Any], raw: Any) -> Any:
    """The Python value of ``raw`` for ``column``; ``ValueError`` says what was expected::

    from_json(Article.__table__.c.day, "1865-04-09")   # dt.date(1865, 4, 9)
    """
    if raw is None:
        return None
    kind = python_type(column)
    if kind is None:
        return raw
    if issubclass(kind, enum.Enum):
        try:
            return kind(raw)
        except ValueError:
            members = ", ".join(str(member.value) for member in kind)
            raise ValueError(f"{raw!r} is not one of {members}") from None
    for parse in _PARSERS:
        if issubclass(kind, parse[0]):
            return parse[1](raw)
    return raw


def _parse_datetime(raw: Any) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(_text(raw, "a date and time"))
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a date and time (ISO 8601: 2024-02-29T12:00:00+00:00)"
        ) from None


def _parse_date(raw: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(_text(raw, "a date"))
    except ValueError:
        raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None


def _parse_time(raw: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(_text(raw, "a time"))
    except ValueError:
        raise ValueError(f"{raw!r} is not a time (HH:MM:SS)") from None


def _parse_decimal(raw: Any) -> decimal.Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError(f"expected a number (best as a string, '12.50'), got {raw!r}")
    try:
        number = decimal.Decimal(str(raw))
    except decimal.InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    return number


def _parse_uuid(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(_text(raw, "a UUID"))
    except ValueError:
        raise ValueError(f"{raw!r} is not a UUID") from None


def _parse_bytes(raw: Any) -> bytes:
    try:
        return base64.b64decode(_text(raw, "base64 text"), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError(f"{raw!r} is not base64 text") from None


def _parse_bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected a whole number, got {raw!r}")
    return raw


def _parse_float(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"expected a number, got {raw!r}")
    return float(raw)


def _parse_str(raw: Any) -> str:
    return _text(raw, "text")


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected {what}, got {raw!r}")
    return raw


# NOTE: in this order: a datetime is a date, and a bool is an int.
_PARSERS: tuple[tuple[type, Any], ...] = (
    (dt.datetime, _parse_datetime),
    (dt.date, _parse_date),
    (dt.time, _parse_time),
    (decimal.Decimal, _parse_decimal),
    (uuid.UUID, _parse_uuid),
    (bytes, _parse_bytes),
    (bool, _parse_bool),
    (int, _parse_int),
    (float, _parse_float),
    (str, _parse_str),
)

__all__ = ["from_json", "python_type", "to_json"]
