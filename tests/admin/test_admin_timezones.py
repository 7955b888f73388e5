"""The admin in the user's time zone: lists, forms and history show local times with
the zone named; datetime inputs are read in that zone and stored UTC; skipped and
repeated local times at DST changes get a form error. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adminsite import FAST_HASHER, PASSWORD, login, post_form

from kettle import App, Settings
from kettle.admin import AdminSite, ModelAdmin
from kettle.auth import Auth, AuthOptions, User
from kettle.db import Database, Model, fields
from kettle.testing import TestClient


class Meeting(Model):
    """A model of this module only: a title and when it starts."""

    title: str = fields.string(max_length=80)
    starts: dt.datetime = fields.datetime()


class MeetingAdmin(ModelAdmin):
    list_display = ["title", "starts"]
    list_filter = ["starts"]
    fields = ["title", "starts"]


class Zoned:
    def __init__(self, app: App, db: Database) -> None:
        self.app, self.db = app, db

    def user(self, zone: str) -> None:
        with self.db.session():
            user = User(username="root", is_staff=True, is_superuser=True, time_zone=zone)
            user.set_password(PASSWORD)
            user.save()

    def meeting(self, starts: dt.datetime) -> int:
        with self.db.session():
            return int(Meeting.objects.create(title="Stand-up", starts=starts).id)

    def stored(self, id: int) -> dt.datetime:
        with self.db.session():
            starts = Meeting.objects.get(id=id).starts
        return starts if starts.tzinfo else starts.replace(tzinfo=dt.UTC)


@pytest.fixture
def zoned(tmp_path: Path, db_url: str) -> Iterator[Zoned]:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=db_url)
    Auth(app, options=AuthOptions(hasher=FAST_HASHER))
    AdminSite(app).register(Meeting, MeetingAdmin)
    db.drop_all()
    db.create_all()
    yield Zoned(app, db)
    db.drop_all()
    db.dispose()


def client_in(zoned: Zoned, zone: str) -> TestClient:
    zoned.user(zone)
    client = TestClient(zoned.app)
    login(client, "root")
    return client


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]  # year, month, day...


def add(client: TestClient, starts: str) -> Any:
    return post_form(client, "/admin/meeting/add", {"title": "Stand-up", "starts": starts})


def input_value(page: str) -> str:
    match = re.search(r'name="starts"[^>]*value="([^"]*)"', page)
    assert match is not None, page
    return match.group(1)


def test_the_list_and_form_show_the_users_zone(zoned: Zoned) -> None:
    client = client_in(zoned, "Europe/Paris")
    id = zoned.meeting(utc(2026, 3, 29, 1, 30))  # just after Paris sprang forward
    listing = client.get("/admin/meeting/").text
    assert "2026-03-29 03:30 CEST" in listing
    assert 'id="time-zone"' in listing
    assert "Europe/Paris" in listing
    form = client.get(f"/admin/meeting/{id}/change").text
    assert input_value(form) == "2026-03-29T03:30:00"


def test_input_is_read_in_the_users_zone_and_stored_utc(zoned: Zoned) -> None:
    client = client_in(zoned, "America/New_York")
    assert add(client, "2026-11-01T02:00").status_code == 303  # after falling back: EST
    with zoned.db.session():
        id = Meeting.objects.get(title="Stand-up").id
    assert zoned.stored(id) == utc(2026, 11, 1, 7, 0)
    history = client.get(f"/admin/meeting/{id}/history").text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T", history), history


@pytest.mark.parametrize(
    ("zone", "local", "problem"),
    [
        ("Europe/Paris", "2026-03-29T02:30", "does not exist in Europe/Paris"),
        ("Europe/Paris", "2026-10-25T02:30", "happens twice in Europe/Paris"),
        ("America/New_York", "2026-03-08T02:15", "does not exist in America/New_York"),
        ("America/New_York", "2026-11-01T01:30", "happens twice in America/New_York"),
    ],
)
def test_skipped_and_repeated_local_times_are_form_errors(
    zoned: Zoned, zone: str, local: str, problem: str
) -> None:
    client = client_in(zoned, zone)
    response = add(client, local)
    assert response.status_code == 400  # the admin's status for a form with errors
    assert problem in html.unescape(response.text)
    with zoned.db.session():
        assert not Meeting.objects.exists()


def test_an_unchanged_repeated_time_saves_as_stored(zoned: Zoned) -> None:
    client = client_in(zoned, "Europe/Paris")
    second = utc(2026, 10, 25, 1, 30)  # 02:30 CET, the second 02:30 of that night
    id = zoned.meeting(second)
    url = f"/admin/meeting/{id}/change"
    page = client.get(url).text
    assert input_value(page) == "2026-10-25T02:30:00"
    response = post_form(client, url, {"title": "Renamed", "starts": input_value(page)}, page)
    assert response.status_code == 303
    assert zoned.stored(id) == second


def test_a_bad_datetime_names_the_users_zone(zoned: Zoned) -> None:
    client = client_in(zoned, "Asia/Tokyo")
    response = add(client, "soon")
    assert response.status_code == 400  # the admin's status for a form with errors
    assert "HH:MM, in Asia/Tokyo" in response.text


def test_the_date_filter_counts_days_in_the_users_zone(zoned: Zoned) -> None:
    client = client_in(zoned, "America/New_York")
    late = zoned.meeting(utc(2026, 7, 2, 3, 30))  # 23:30 on 1 July in New York
    zoned.meeting(utc(2026, 7, 2, 4, 30))  # 00:30 on 2 July there
    query = "starts__gte=2026-07-01&starts__lt=2026-07-02"
    page = client.get(f"/admin/meeting/?{query}").text
    assert re.findall(r'href="/admin/meeting/(\d+)/change"', page) == [str(late)]
    page = client.get("/admin/meeting/?starts__gte=2026-07-01&starts__lte=2026-07-01").text
    assert re.findall(r'href="/admin/meeting/(\d+)/change"', page) == [str(late)]
