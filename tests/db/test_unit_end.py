"""How a unit of work ends: a unit that only read, with no transaction on the server
(``_deferred``), is closed rather than committed; everything else commits as before.

Observed from the engines' own ``commit`` events and from the data: a read-only unit on
PostgreSQL or SQLite sends the driver no COMMIT, on MariaDB (a transaction from the first
statement) it still commits, and any unit with something to write commits it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from dbhelpers import arun
from newsmodels import User
from sqlalchemy import event

from kettle import App
from kettle.db import Database, async_session, sync_session
from kettle.db.database import _nothing_to_commit
from kettle.testing import TestClient


def count_commits(engine: sa.Engine) -> list[int]:
    """A list that grows by one on each COMMIT ``engine``'s connections are asked for."""
    commits: list[int] = []
    event.listen(engine, "commit", lambda *_: commits.append(1))
    return commits


def deferred(db: Database) -> bool:
    """Whether a read-only unit on ``db`` runs without a transaction (``_deferred``)."""
    return db.dialect in ("postgresql", "sqlite")


def test_a_unit_that_only_read_is_closed_not_committed(db: Database) -> None:
    with db.session():
        User.objects.create(username="ann")
    commits = count_commits(db.sync_engine)
    with db.session():
        assert User.objects.get(username="ann").username == "ann"
        assert User.objects.values_list("username", flat=True).filter(pk=1)[:2]
        assert _nothing_to_commit(sync_session()) is deferred(db)
    assert len(commits) == (0 if deferred(db) else 1)
    assert db.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    with db.session():  # the connection is fit for the next unit, which writes
        User.objects.create(username="bob")
    assert len(commits) == (1 if deferred(db) else 2)
    with db.session():
        assert sorted(User.objects.values_list("username", flat=True)) == ["ann", "bob"]


def test_a_unit_that_wrote_or_holds_changes_commits(db: Database) -> None:
    with db.session():
        User.objects.create(username="ann")
    with db.session():
        ann = User.objects.get(username="ann")
        ann.username = "anna"  # changed, not flushed yet: the commit flushes it
        assert _nothing_to_commit(sync_session()) is False
    with db.session():
        User.objects.get(username="anna")
        sync_session().add(User(username="cid"))  # pending, never flushed
        assert _nothing_to_commit(sync_session()) is False
    with db.session():
        User.objects.get(username="anna")
        User.objects.filter(username="anna").update(username="ann")  # a write after reads
        assert _nothing_to_commit(sync_session()) is False
    with db.session():
        assert sorted(User.objects.values_list("username", flat=True)) == ["ann", "cid"]


def test_a_commit_listener_of_the_session_still_sees_the_commit(db: Database) -> None:
    seen: list[str] = []
    with db.session():
        User.objects.count()
        event.listen(sync_session(), "after_commit", lambda session: seen.append("after"))
        event.listen(sync_session(), "before_commit", lambda session: seen.append("before"))
    assert seen == ["before", "after"]


def test_an_async_unit_that_only_read_is_closed_not_committed(db: Database) -> None:
    with db.session():
        User.objects.create(username="ann")

    async def main() -> tuple[int, int]:
        commits = count_commits(db.async_engine.sync_engine)
        async with db.async_session():
            await User.objects.aget(username="ann")
            assert _nothing_to_commit(async_session().sync_session) is deferred(db)
        read = len(commits)
        async with db.async_session():
            await User.objects.acreate(username="bob")
        return read, len(commits) - read

    assert arun(db, main) == (0 if deferred(db) else 1, 1)
    with db.session():
        assert User.objects.filter(username="bob").exists()


def test_requests_that_read_then_write_keep_their_writes(app: App, db: Database) -> None:
    @app.get("/read")
    async def read() -> dict[str, Any]:
        return {"users": await User.objects.acount()}

    @app.post("/write")
    async def write() -> dict[str, Any]:
        before = await User.objects.acount()
        await User.objects.acreate(username=f"user{before}")
        return {"users": before + 1}

    with TestClient(app) as client:
        assert client.get("/read").json() == {"users": 0}
        assert client.post("/write").json() == {"users": 1}
        assert client.get("/read").json() == {"users": 1}
        assert client.post("/write").json() == {"users": 2}
