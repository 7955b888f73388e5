"""Sessions: units of work outside requests, the typed accessors, ``NoUnitOfWork``."""

from __future__ import annotations

import asyncio
import gc

import pytest
import sqlalchemy as sa
from dbhelpers import arun
from newsmodels import User

from kettle import App
from kettle.db import Database, NoUnitOfWork, async_session, sync_session
from kettle.db.session import current_unit
from kettle.testing import TestClient


def usernames(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.scalars(sa.select(User.username)))


def test_session_block_commits(db: Database) -> None:
    with db.session() as session:
        assert sync_session() is session
        assert current_unit().database is db
        User.objects.create(username="ann")
    assert usernames(db) == {"ann"}


def test_session_block_rolls_back_when_it_raises(db: Database) -> None:
    def create_then_fail() -> None:
        with db.session():
            User.objects.create(username="ann")
            raise KeyError("stop")

    with pytest.raises(KeyError):
        create_then_fail()
    assert usernames(db) == set()


def test_async_session_block_commits_and_rolls_back(db: Database) -> None:
    async def work() -> None:
        async with db.async_session() as session:
            assert async_session() is session
            await User.objects.acreate(username="ann")
        with pytest.raises(KeyError):
            await create_then_fail()

    async def create_then_fail() -> None:
        async with db.async_session():
            await User.objects.acreate(username="bob")
            raise KeyError("stop")

    arun(db, work)
    assert usernames(db) == {"ann"}


def test_a_nested_session_block_is_a_unit_of_its_own(db: Database) -> None:
    def nest() -> None:
        with db.session() as outer:
            with db.session() as inner:
                assert inner is not outer
                User.objects.create(username="inner")
            assert sync_session() is outer
            User.objects.create(username="outer")
            raise KeyError("undo the outer block only")

    # NOTE: the outer block writes after the inner one commits: SQLite has one writer.
    with pytest.raises(KeyError):
        nest()
    assert usernames(db) == {"inner"}


@pytest.mark.parametrize(
    "use",
    [
        lambda: User.objects.count(),
        sync_session,
        async_session,
        current_unit,
    ],
    ids=["queryset", "sync_session", "async_session", "current_unit"],
)
def test_no_unit_of_work_outside_requests_says_what_to_do(use: object) -> None:
    with pytest.raises(NoUnitOfWork) as caught:
        use()  # type: ignore[operator]
    message = str(caught.value)
    assert "with db.session():" in message
    assert "async with db.async_session():" in message


def test_concurrent_tasks_have_units_of_their_own(db: Database) -> None:
    async def one(name: str, fail: bool) -> None:
        async with db.async_session() as session:
            await User.objects.acreate(username=name)
            await asyncio.sleep(0.01)  # let the other task run in between
            assert async_session() is session
            if fail:
                raise RuntimeError(name)

    async def both() -> None:
        results = await asyncio.gather(
            one("kept", False), one("undone", True), return_exceptions=True
        )
        assert [type(r) for r in results] == [type(None), RuntimeError]

    arun(db, both)
    assert usernames(db) == {"kept"}


def test_requests_that_never_query_open_no_session(
    app: App, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(db, "make_sync_session", lambda: opened.append("sync"))
    monkeypatch.setattr(db, "make_async_session", lambda: opened.append("async"))

    @app.get("/plain")
    def plain() -> str:
        return "no database here"

    @app.get("/aplain")
    async def aplain() -> str:
        return "none here either"

    with TestClient(app) as client:
        assert client.get("/plain").status_code == 200
        assert client.get("/aplain").status_code == 200
    assert opened == []


def test_each_request_has_its_own_session(app: App, db: Database) -> None:
    seen: list[object] = []

    @app.get("/session")
    def which() -> dict[str, bool]:
        session = sync_session()
        seen.append(session)
        return {"same": sync_session() is session}

    with TestClient(app) as client:
        assert client.get("/session").json() == {"same": True}
        assert client.get("/session").json() == {"same": True}
    assert len(seen) == 2
    assert seen[0] is not seen[1]
    with pytest.raises(NoUnitOfWork):
        sync_session()  # the request's unit ended with the request


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_async_work_in_a_second_event_loop(db: Database) -> None:
    """Scripts and tests may call asyncio.run() twice: the pool of the first, closed loop
    is left behind instead of handing its connections to the second."""

    async def count() -> int:
        async with db.async_session():
            return await User.objects.acount()

    assert asyncio.run(count()) == 0  # leaves pooled connections of this loop behind
    assert arun(db, count) == 0
    gc.collect()  # the abandoned connections complain (harmlessly) now, not in a later test
