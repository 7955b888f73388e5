"""Dates, numbers and money written the way the active language writes them (Babel).

Each function is also a template global and filter once ``I18n(app)`` is made::

    {{ article.published | format_date }}          {# 7 déc. 2026 on a French page #}
    {{ format_currency(order.total, "EUR") }}      {# 1 234,50 € #}

Outside a request, or without ``I18n``, they format as English does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from babel import dates, numbers
from babel.core import Locale

from kettle.i18n._gettext import ACTIVE

_ENGLISH = Locale.parse("en")
Number = int | float | Decimal


def current_locale() -> Locale:
    """The Babel locale of the active language (English when none is active)::

    current_locale().display_name   # "français" on a French page
    """
    return ACTIVE.get().locale or _ENGLISH


def _local(value: dt.datetime) -> dt.datetime:
    """``value`` in the reader's time zone (kettle.timezones: the user's, else the app's)."""
    from kettle.timezones import localtime

    return localtime(value)


def format_date(value: dt.date, format: str = "medium") -> str:
    """``value`` as a date: ``format_date(d)`` -> ``"7 déc. 2026"`` in French;
    ``format`` is ``short``, ``medium``, ``long``, ``full`` or a CLDR pattern."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = _local(value)
    return dates.format_date(value, format, locale=current_locale())


def format_datetime(value: dt.datetime, format: str = "medium") -> str:
    """``value`` as a date and time, in the reader's zone when it is aware::

    format_datetime(now, "short")   # "07/12/2026 14:05" in French
    """
    if value.tzinfo is not None:
        value = _local(value)
    return dates.format_datetime(value, format, tzinfo=value.tzinfo, locale=current_locale())


def format_time(value: dt.time | dt.datetime, format: str = "medium") -> str:
    """``value`` as a time of day: ``format_time(t, "short")`` -> ``"14:05"`` in German."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = _local(value)
    return dates.format_time(value, format, locale=current_locale())


def format_number(value: Number) -> str:
    """``value`` with the language's separators: ``1234567`` -> ``"1.234.567"`` in German."""
    return numbers.format_decimal(value, locale=current_locale())


def format_decimal(value: Number, format: str | None = None) -> str:
    """``value`` as a decimal, optionally with a CLDR pattern::

    format_decimal(1234.5, "#,##0.00")   # "1 234,50" in French
    """
    return numbers.format_decimal(value, format, locale=current_locale())


def format_percent(value: Number, format: str | None = None) -> str:
    """``value`` (a fraction) as a percentage: ``0.25`` -> ``"25 %"`` in French."""
    return numbers.format_percent(value, format, locale=current_locale())


def format_currency(value: Number, currency: str, format: str | None = None) -> str:
    """``value`` in ``currency`` (ISO 4217): ``format_currency(9.5, "EUR")`` ->
    ``"9,50 €"`` in French, ``"€9.50"`` in English."""
    return numbers.format_currency(value, currency, format, locale=current_locale())


def format_timedelta(value: dt.timedelta, **options: Any) -> str:
    """A duration in words: ``timedelta(hours=3)`` -> ``"3 Stunden"`` in German."""
    return dates.format_timedelta(value, locale=current_locale(), **options)


__all__ = [
    "current_locale",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_number",
    "format_percent",
    "format_time",
    "format_timedelta",
]
