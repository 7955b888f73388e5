"""Dates, numbers and money in the active language, in code and templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from i18nsite import make_app

from kettle.i18n import (
    current_locale,
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_number,
    format_percent,
    format_time,
    format_timedelta,
)
from kettle.responses import render
from kettle.testing import TestClient

DAY = dt.date(2026, 12, 7)
MOMENT = dt.datetime(2026, 12, 7, 14, 5)

CASES = {
    "en": ["Dec 7, 2026", "1,234,567", "1,234.5", "25%", "€1,234.50", "$9.99", "2:05\u202fPM"],
    "fr": [
        "7 déc. 2026",
        "1\u202f234\u202f567",
        "1\u202f234,5",
        "25\u00a0%",
        "1\u202f234,50\u00a0€",
        "9,99\u00a0$US",
        "14:05",
    ],
    "de": [
        "07.12.2026",
        "1.234.567",
        "1.234,5",
        "25\u00a0%",
        "1.234,50\u00a0€",
        "9,99\u00a0$",
        "14:05",
    ],
    "es": [
        "7 dic 2026",
        "1.234.567",
        "1.234,5",
        "25\u00a0%",
        "1.234,50\u00a0€",
        "9,99\u00a0US$",
        "14:05",
    ],
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_formatting_per_language(root: Path, language: str) -> None:
    _, i18n = make_app(root)
    with i18n.language(language):
        got = [
            format_date(DAY),
            format_number(1234567),
            format_decimal(1234.5),
            format_percent(0.25),
            format_currency(Decimal("1234.50"), "EUR"),
            format_currency(9.99, "USD"),
            format_time(MOMENT, "short"),
        ]
        assert current_locale().language == language
    assert got == CASES[language]


def test_without_a_language_it_is_english() -> None:
    assert format_date(DAY, "long") == "December 7, 2026"
    assert format_datetime(MOMENT, "short") == "12/7/26, 2:05\u202fPM"
    assert format_timedelta(dt.timedelta(hours=3)) == "3 hours"


def test_formatting_in_templates(root: Path) -> None:
    (root / "templates" / "money.html").write_text(
        "{{ day | format_date('long') }}|{{ total | format_currency('EUR') }}|"
        "{{ format_percent(0.5) }}|{{ 0.25 | format_percent }}"
    )
    app, _ = make_app(root)

    @app.get("/")
    def page() -> object:
        return render("money.html", day=DAY, total=Decimal("12.5"))

    client = TestClient(app)
    assert client.get("/").text == "December 7, 2026|€12.50|50%|25%"
    # A literal is not folded into the first render's language when the template compiles.
    assert client.get("/de/").text == "7. Dezember 2026|12,50\u00a0€|50\u00a0%|25\u00a0%"


def test_aware_datetimes_are_shown_in_the_readers_zone(root: Path) -> None:
    """Aware values go through kettle.timezones.localtime (the app's zone: UTC here)."""
    _, i18n = make_app(root)
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2026, 12, 7, 15, 5, tzinfo=paris)
    with i18n.language("fr"):
        assert format_datetime(moment, "short") == "07/12/2026 14:05"
        assert format_datetime(MOMENT, "short") == "07/12/2026 14:05"  # naive: as it is
