"""kettle.timezones: the request's zone, localtime, reading local input across DST, the
template filters and the browser script's route."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kettle import App, Request, Settings
from kettle.testing import TestClient
from kettle.timezones import (
    COOKIE,
    AmbiguousTime,
    NonexistentTime,
    activated,
    add_script_route,
    current_zone,
    from_local,
    get_zone,
    local_datetime,
    localtime,
    zone_for,
    zone_names,
)

UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)  # type: ignore[misc]  # year, month, day...


# --- zones ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/Paris\x00", "x" * 65]
)
def test_bad_zone_names_are_none(name: str) -> None:
    assert get_zone(name) is None


def test_zone_names_lists_real_zones() -> None:
    names = zone_names()
    assert "Europe/Paris" in names
    assert "America/New_York" in names
    assert names == sorted(names)


# --- display across DST ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stamp", "zone", "shown"),
    [
        # Paris springs forward on 2026-03-29 at 01:00 UTC (02:00 CET -> 03:00 CEST).
        (utc(2026, 3, 29, 0, 59), "Europe/Paris", "2026-03-29 01:59 CET"),
        (utc(2026, 3, 29, 1, 0), "Europe/Paris", "2026-03-29 03:00 CEST"),
        # ... and falls back on 2026-10-25 at 01:00 UTC: 02:30 local happens twice.
        (utc(2026, 10, 25, 0, 30), "Europe/Paris", "2026-10-25 02:30 CEST"),
        (utc(2026, 10, 25, 1, 30), "Europe/Paris", "2026-10-25 02:30 CET"),
        # New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
        (utc(2026, 3, 8, 6, 59), "America/New_York", "2026-03-08 01:59 EST"),
        (utc(2026, 3, 8, 7, 0), "America/New_York", "2026-03-08 03:00 EDT"),
        (utc(2026, 11, 1, 5, 30), "America/New_York", "2026-11-01 01:30 EDT"),
        (utc(2026, 11, 1, 6, 30), "America/New_York", "2026-11-01 01:30 EST"),
        (utc(2026, 7, 1, 12, 0), "UTC", "2026-07-01 12:00 UTC"),
    ],
)
def test_local_datetime_names_the_zone_across_dst(
    stamp: dt.datetime, zone: str, shown: str
) -> None:
    assert local_datetime(stamp, zone) == shown
    assert localtime(stamp, zone).astimezone(UTC) == stamp


def test_a_naive_value_is_taken_as_utc() -> None:
    assert localtime(dt.datetime(2026, 7, 1, 12), "Europe/Paris").hour == 14


def test_activated_sets_the_default_zone_for_a_block() -> None:
    assert current_zone().key == "UTC"
    with activated("America/New_York"):
        assert local_datetime(utc(2026, 7, 1, 12)) == "2026-07-01 08:00 EDT"
    assert current_zone().key == "UTC"
    with pytest.raises(ValueError, match="not an IANA time zone"), activated("Nowhere/Atall"):
        pass


# --- input across DST ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("local", "zone", "stored"),
    [
        (dt.datetime(2026, 3, 29, 1, 59), "Europe/Paris", utc(2026, 3, 29, 0, 59)),
        (dt.datetime(2026, 3, 29, 3, 0), "Europe/Paris", utc(2026, 3, 29, 1, 0)),
        (dt.datetime(2026, 10, 25, 3, 0), "Europe/Paris", utc(2026, 10, 25, 2, 0)),
        (dt.datetime(2026, 3, 8, 3, 30), "America/New_York", utc(2026, 3, 8, 7, 30)),
        (dt.datetime(2026, 11, 1, 2, 0), "America/New_York", utc(2026, 11, 1, 7, 0)),
    ],
)
def test_from_local_reads_the_users_zone(
    local: dt.datetime, zone: str, stored: dt.datetime
) -> None:
    assert from_local(local, zone).astimezone(UTC) == stored


@pytest.mark.parametrize(
    ("local", "zone"),
    [
        (dt.datetime(2026, 3, 29, 2, 30), "Europe/Paris"),
        (dt.datetime(2026, 3, 8, 2, 0), "America/New_York"),
    ],
)
def test_a_skipped_local_time_is_refused(local: dt.datetime, zone: str) -> None:
    with pytest.raises(NonexistentTime, match=f"does not exist in {zone}"):
        from_local(local, zone)


@pytest.mark.parametrize(
    ("local", "zone"),
    [
        (dt.datetime(2026, 10, 25, 2, 30), "Europe/Paris"),
        (dt.datetime(2026, 11, 1, 1, 30), "America/New_York"),
    ],
)
def test_a_repeated_local_time_is_refused(local: dt.datetime, zone: str) -> None:
    with pytest.raises(AmbiguousTime, match=f"happens twice in {zone}"):
        from_local(local, zone)


def test_an_aware_value_is_kept() -> None:
    stamp = dt.datetime(2026, 10, 25, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert from_local(stamp, "Europe/Paris") is stamp


# --- the request's zone, the filters, the script ----------------------------------------------
class Reader:
    is_authenticated = True

    def __init__(self, time_zone: str) -> None:
        self.time_zone = time_zone


def make_app(tmp_path: Path, zone: str = "UTC") -> App:
    settings = Settings.load(env="testing", env_file=None)
    settings.time_zone = zone
    app = App(settings=settings, root=tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "when.html").write_text(
        "{{ stamp | local_datetime }}|{{ stamp | localtime }}|{{ none | localtime }}"
        "|{{ stamp | local_datetime('Asia/Tokyo') }}"
    )

    @app.before_request
    def reader(request: Request) -> None:
        chosen = request.headers.get("x-user-zone")
        if chosen is not None:
            request.state.user = Reader(chosen)

    @app.get("/zone")
    def zone_page(request: Request) -> dict[str, Any]:
        return {"zone": zone_for(request).key}

    @app.get("/when")
    def when(request: Request) -> Any:
        from kettle import render

        return render("when.html", stamp=utc(2026, 7, 1, 12))

    add_script_route(app)
    return app


def test_the_users_zone_then_the_cookie_then_the_setting(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, "Asia/Tokyo"))
    assert client.get("/zone").json() == {"zone": "Asia/Tokyo"}
    client.cookies.set(COOKIE, "America/New_York")
    assert client.get("/zone").json() == {"zone": "America/New_York"}
    headers = {"x-user-zone": "Europe/Paris"}
    assert client.get("/zone", headers=headers).json() == {"zone": "Europe/Paris"}
    # A zone that does not exist, from the user or the cookie, is passed over.
    client.cookies.set(COOKIE, "../../etc/passwd")
    assert client.get("/zone", headers={"x-user-zone": "Bogus"}).json() == {"zone": "Asia/Tokyo"}


def test_a_bad_setting_falls_back_to_utc(tmp_path: Path) -> None:
    assert TestClient(make_app(tmp_path, "Nowhere")).get("/zone").json() == {"zone": "UTC"}


def test_the_filters_use_the_requests_zone(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path))
    client.cookies.set(COOKIE, "Europe/Paris")
    text = client.get("/when").text
    assert text == "2026-07-01 14:00 CEST|2026-07-01 14:00:00+02:00|None|2026-07-01 21:00 JST"


def test_the_script_is_served_and_sets_the_cookie(tmp_path: Path) -> None:
    response = TestClient(make_app(tmp_path)).get("/timezone.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "resolvedOptions().timeZone" in response.text
    assert COOKIE in response.text
