"""The account's time zone page (/auth/time-zone), on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

from authsite import Site, csrf_from
from test_email_verification import stored

from kettle.testing import TestClient
from kettle.timezones import COOKIE


def choose(client: TestClient, zone: str) -> Any:
    page = client.get("/auth/time-zone")
    return client.post(
        "/auth/time-zone", data={"time_zone": zone, "csrf_token": csrf_from(page.text)}
    )


def test_choose_a_zone_then_automatic(site: Site) -> None:
    site.user("ann")
    client = TestClient(site.app)
    site.login(client)
    client.cookies.set(COOKIE, "Asia/Tokyo")
    page = client.get("/auth/time-zone").text
    assert '<option value="" selected>' in page
    assert 'id="shown-zone">Asia/Tokyo<' in page
    assert choose(client, "Europe/Paris").status_code == 303
    assert stored(site).time_zone == "Europe/Paris"
    page = client.get("/auth/time-zone").text
    assert "<option selected>Europe/Paris</option>" in page
    assert 'id="shown-zone">Europe/Paris<' in page  # the account's zone wins over the cookie
    assert choose(client, "").status_code == 303
    assert stored(site).time_zone == ""


def test_a_zone_that_does_not_exist_is_a_422(site: Site) -> None:
    site.user("ann", time_zone="Europe/Paris")
    client = TestClient(site.app)
    site.login(client)
    for bad in ("Mars/Olympus", "../../etc/passwd", "x" * 500):
        response = choose(client, bad)
        assert response.status_code == 422
        assert "is not a time zone" in response.text
    assert stored(site).time_zone == "Europe/Paris"
