"""Idle expiry on the database session store (``AuthOptions(session_idle_seconds=...)``),
on SQLite, PostgreSQL and MariaDB: a read moves the deadline only when a quarter of the
idle window has passed, and never past ``session_max_age`` after the session began."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from kettle.auth.sessions import DatabaseSessionBackend, StoredSession, hash_session_id
from kettle.db import fields


@pytest.fixture
def idle_site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    built = make_site(tmp_path, db_url, session_idle_seconds=600)
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


def _row(site: Site, token: str) -> StoredSession:
    with site.db.session():
        return StoredSession.objects.get(key_hash=hash_session_id(token))


def _set(site: Site, token: str, **values: dt.datetime) -> None:
    with site.db.session():
        StoredSession.objects.filter(key_hash=hash_session_id(token)).update(**values)


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def test_idle_deadline_slides_on_reads_a_quarter_window_apart(idle_site: Site) -> None:
    backend = idle_site.app.session_backend.store
    assert isinstance(backend, DatabaseSessionBackend)
    assert backend.idle_seconds == 600

    async def run() -> None:
        token = await backend.save(None, {"n": 1}, 3600)
        first = _utc(_row(idle_site, token).expires)
        assert abs((first - fields.now()).total_seconds() - 600) < 30  # idle, not max_age
        assert await backend.load(token) == {"n": 1}
        assert _utc(_row(idle_site, token).expires) == first  # a fresh read writes nothing

        _set(idle_site, token, expires=fields.now() + dt.timedelta(seconds=300))
        assert await backend.load(token) == {"n": 1}
        moved = _utc(_row(idle_site, token).expires)
        assert abs((moved - fields.now()).total_seconds() - 600) < 30  # slid

        _set(idle_site, token, expires=fields.now() - dt.timedelta(seconds=1))
        assert await backend.load(token) is None  # idle too long
        await idle_site.db.adispose()

    asyncio.run(run())


def test_absolute_deadline_caps_the_slide(idle_site: Site) -> None:
    backend = idle_site.app.session_backend.store
    assert isinstance(backend, DatabaseSessionBackend)
    max_age = idle_site.app.settings.session_max_age

    async def run() -> None:
        token = await backend.save(None, {"n": 1}, max_age)
        began = fields.now() - dt.timedelta(seconds=max_age - 60)
        _set(idle_site, token, created=began, expires=fields.now() + dt.timedelta(seconds=30))
        assert await backend.load(token) == {"n": 1}
        capped = _utc(_row(idle_site, token).expires)
        assert abs((capped - (began + dt.timedelta(seconds=max_age))).total_seconds()) < 2
        assert await backend.save(token, {"n": 2}, max_age) == token
        assert _utc(_row(idle_site, token).expires) <= capped + dt.timedelta(seconds=1)
        await idle_site.db.adispose()

    asyncio.run(run())
