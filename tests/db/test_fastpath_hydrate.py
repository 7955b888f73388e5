"""The fast path's shortcuts (kettle.db._hydrate, _fastpath): datetimes converted without
SQLAlchemy's TypeDecorator chain, conversions run only for instances the read builds or
refills, and the session's connection found without ``Session.connection()``. Each gives
what SQLAlchemy's path gives, on every engine.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun, own_tables
from test_fastpath_reads import START, Typed, Typeds

from kettle.db import Database, _fastpath, async_session, sync_session
from kettle.db.fields import UTCDateTime


@pytest.fixture
def typed(db: Database) -> Iterator[Database]:
    """``db`` with one ``Typed`` row, named "t"."""
    with own_tables(Typeds.metadata, db):
        with db.session():
            Typed.objects.create(name="t", flag=True, when=START, amount=Decimal("1.5"))
        yield db


@pytest.fixture
def fast_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement the fast path hydrated during the test."""
    ran: list[str] = []
    hydrate = _fastpath._hydrate

    def counted(connection: Any, session: Any, key: Any, shape: Any, *rest: Any) -> Any:
        ran.append(shape.sql)
        return hydrate(connection, session, key, shape, *rest)

    monkeypatch.setattr(_fastpath, "_hydrate", counted)
    return ran


def test_from_driver_gives_aware_utc() -> None:
    utc = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert UTCDateTime.from_driver(utc) is utc
    naive = UTCDateTime.from_driver(dt.datetime(2026, 3, 1, 9, 30))
    assert naive == utc
    assert naive.tzinfo is dt.UTC
    paris = dt.datetime(2026, 3, 1, 10, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    moved = UTCDateTime.from_driver(paris)
    assert moved == utc
    assert moved.tzinfo is dt.UTC
    assert UTCDateTime.from_driver(None) is None
    assert UTCDateTime.from_driver("2026-03-01") == "2026-03-01"


def test_datetimes_read_fast_are_utc_as_on_sqlalchemy_path(
    typed: Database, fast_reads: list[str]
) -> None:
    for on in (True, False):
        typed.fast_path = on
        with typed.session():
            obj = Typed.objects.get(name="t")
            (listed,) = Typed.objects.all()
            (row,) = Typed.objects.values("when")
            for value in (obj.when, listed.when, row["when"]):
                assert value == START
                assert value.tzinfo is dt.UTC
    typed.fast_path = True
    assert len(fast_reads) == 3


def test_an_expired_object_is_refilled_and_converted(
    typed: Database, fast_reads: list[str]
) -> None:
    with typed.session() as session:
        obj = Typed.objects.get(name="t")
        session.expire(obj, ["when", "amount"])
        assert "when" not in obj.__dict__
        (again,) = Typed.objects.filter(name="t")
        assert again is obj
        # Filled in by the read itself (no lazy load), converted as on the first read.
        assert obj.__dict__["when"] == START
        assert obj.__dict__["when"].tzinfo is dt.UTC
        assert obj.__dict__["amount"] == Decimal("1.5")
        assert not sa.inspect(obj).expired_attributes
    assert len(fast_reads) == 2


def test_the_held_connection_is_the_sessions(typed: Database) -> None:
    with typed.session():
        session = sync_session()
        Typed.objects.get(name="t")
        assert _fastpath._held(session) is session.connection()

    async def work() -> bool:
        async with typed.async_session():
            await Typed.objects.aget(name="t")
            orm = async_session()
            held = _fastpath._held(orm.sync_session)
            return held is (await orm.connection()).sync_connection

    assert arun(typed, work) is True


def test_the_held_connection_in_each_state_of_a_unit(typed: Database) -> None:
    def agrees(session: sa.orm.Session) -> None:
        held = _fastpath._held(session)
        assert held is None or held is session.connection()

    with typed.session():
        session = sync_session()
        agrees(session)
        Typed.objects.get(name="t")
        agrees(session)
        with session.begin_nested():
            agrees(session)
            assert Typed.objects.get(name="t").flag is True
            agrees(session)
        agrees(session)
        assert list(Typed.objects.values_list("name", flat=True)) == ["t"]
