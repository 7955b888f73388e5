"""A unit of work opens its transaction at its first write (kettle.db._deferred): on
PostgreSQL reads run without one, on SQLite the transaction is BEGIN IMMEDIATE.

Whether a transaction is open is asked of the server, from another connection: the
unit's backend is ``idle in transaction`` between statements of a transaction and
``idle`` otherwise (``pg_stat_activity``). What must not change (writes all-or-nothing,
locks held, rollback on error) is checked on every engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun, news_tables
from newsmodels import Tag, User
from sqlalchemy import event

from kettle import App
from kettle.db import Database, atomic
from kettle.db._deferred import reads_only
from kettle.testing import TestClient

PID = sa.select(sa.func.pg_backend_pid())


@pytest.fixture
def pg(app: App, engine_urls: dict[str, str | None]) -> Iterator[Database]:
    """A Database on PostgreSQL with the news models' tables (the db fixture, one engine)."""
    url = engine_urls["postgresql"]
    if url is None:
        pytest.skip("no postgresql server here (set CI=true to make this an error)")
    with news_tables(app, url) as database:
        yield database


def in_transaction(db: Database, pid: int | None) -> bool:
    """Whether the server holds a transaction open for the backend ``pid``."""
    with db.sync_engine.connect() as other:
        query = sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
        state = other.execute(query, {"pid": pid}).scalar_one()
    assert state in ("idle", "idle in transaction"), state
    return state == "idle in transaction"


def test_a_unit_that_only_reads_runs_no_transaction(pg: Database) -> None:
    with pg.session():
        User.objects.create(username="ann")
    with pg.session() as session:
        assert User.objects.get(username="ann").username == "ann"
        assert in_transaction(pg, session.scalar(PID)) is False

    async def reads() -> int | None:
        async with pg.async_session() as session:
            await User.objects.aget(username="ann")
            await User.objects.values("username").alist()
            pid = await session.scalar(PID)
            return in_transaction(pg, pid)

    assert arun(pg, reads) is False


def test_the_first_write_opens_the_transaction_and_later_reads_are_in_it(pg: Database) -> None:
    with pg.session() as session:
        pid = session.scalar(PID)
        assert in_transaction(pg, pid) is False
        User.objects.create(username="ann")
        assert in_transaction(pg, pid) is True
        assert User.objects.filter(username="ann").count() == 1
        assert in_transaction(pg, pid) is True

    async def writes() -> list[bool]:
        async with pg.async_session() as session:
            pid = await session.scalar(PID)
            seen = [in_transaction(pg, pid)]
            await User.objects.acreate(username="bob")
            seen.append(in_transaction(pg, pid))
            return seen

    assert arun(pg, writes) == [False, True]
    with pg.session():
        assert sorted(User.objects.values_list("username", flat=True)) == ["ann", "bob"]


def test_atomic_select_for_update_and_raw_sql_open_the_transaction(pg: Database) -> None:
    with pg.session():
        User.objects.create(username="ann")
    with pg.session() as session, atomic():
        assert in_transaction(pg, session.scalar(PID)) is True
    with pg.session() as session:
        User.objects.select_for_update().get(username="ann")
        assert in_transaction(pg, session.scalar(PID)) is True
    with pg.session() as session:
        session.execute(sa.text("SELECT 1"))
        assert in_transaction(pg, session.scalar(PID)) is True


def test_connections_go_back_to_the_pool_out_of_autocommit(pg: Database) -> None:
    seen: list[bool] = []
    for engine in (pg.sync_engine, pg.async_engine.sync_engine):
        event.listen(engine, "checkin", lambda driver, record: seen.append(driver.autocommit))
    with pg.session():
        User.objects.filter(username="ann").exists()
    with pg.session():
        User.objects.create(username="ann")

    def fail_before_writing() -> None:
        with pg.session():
            User.objects.filter(username="ann").exists()
            raise RuntimeError("the unit fails before it writes")

    with pytest.raises(RuntimeError):
        fail_before_writing()

    async def read() -> None:
        async with pg.async_session():
            await User.objects.filter(username="ann").aexists()

    arun(pg, read)
    assert seen == [False, False, False, False]


def test_a_server_that_defaults_to_repeatable_read_keeps_one_transaction(
    app: App, pg: Database
) -> None:
    name = pg.url.database
    with pg.sync_engine.connect() as admin:
        admin.exec_driver_sql(
            f"ALTER DATABASE \"{name}\" SET default_transaction_isolation = 'repeatable read'"
        )
        admin.commit()
    try:
        strict = Database(url=pg.url)
        with strict.session() as session:
            User.objects.filter(username="ann").exists()
            assert in_transaction(pg, session.scalar(PID)) is True
        strict.dispose()
    finally:
        with pg.sync_engine.connect() as admin:
            admin.exec_driver_sql(f'ALTER DATABASE "{name}" RESET default_transaction_isolation')
            admin.commit()


@pytest.mark.parametrize("kind", ["def", "async"])
def test_reads_then_writes_still_roll_back_together(app: App, db: Database, kind: str) -> None:
    with db.session():
        User.objects.create(username="ann")
    if kind == "def":

        @app.post("/tags")
        def tag() -> None:
            User.objects.get(username="ann")
            Tag.objects.create(name="tea")
            Tag.objects.create(name="science")
            raise RuntimeError("after two writes")

    else:

        @app.post("/tags")
        async def atag() -> None:
            await User.objects.aget(username="ann")
            await Tag.objects.acreate(name="tea")
            await Tag.objects.acreate(name="science")
            raise RuntimeError("after two writes")

    with TestClient(app) as client:
        assert client.post("/tags").status_code == 500
    with db.session():
        assert Tag.objects.count() == 0


def test_select_for_update_holds_the_row_lock_until_the_unit_ends(db: Database) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite has no row locks (FOR UPDATE is not SQL it knows)")
    with db.session():
        User.objects.create(username="ann")
    nowait = "SELECT id FROM \"user\" WHERE username = 'ann' FOR UPDATE NOWAIT"
    if db.dialect == "mysql":
        nowait = nowait.replace('"user"', "`user`")
    with db.session():
        User.objects.select_for_update().get(username="ann")
        with db.sync_engine.connect() as other, pytest.raises(sa.exc.OperationalError):
            other.exec_driver_sql(nowait)
    with db.sync_engine.connect() as other:
        assert other.exec_driver_sql(nowait).scalar() is not None


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (sa.select(User.username), True),
        (sa.union(sa.select(User.id), sa.select(Tag.id)), True),
        (sa.select(User.username).with_for_update(), False),
        (sa.select(User.username).with_for_update(read=True), False),
        (sa.select(sa.select(User.id).cte("ids").c.id), False),
        (sa.update(User).values(is_editor=True), False),
        (sa.insert(Tag).values(name="tea"), False),
        (sa.delete(Tag), False),
        (sa.text("SELECT 1"), False),
    ],
    ids=["select", "union", "for-update", "for-share", "cte", "update", "insert", "delete", "text"],
)
def test_what_counts_as_a_read(statement: Any, expected: bool) -> None:
    class Context:
        compiled = statement.compile()

    assert reads_only(Context()) is expected
    assert reads_only(None) is False  # exec_driver_sql: raw SQL, so a write


@pytest.fixture
def lite(app: App, engine_urls: dict[str, str | None]) -> Iterator[Database]:
    """A Database on a SQLite file with the news models' tables."""
    url = engine_urls["sqlite"]
    assert url is not None
    with news_tables(app, url) as database:
        yield database


def test_sqlite_reads_then_writes_after_another_commit(lite: Database) -> None:
    # SQLite's plain BEGIN would read a snapshot and then refuse the write at once with
    # "database is locked", since another connection wrote after that snapshot.
    with lite.session():
        User.objects.create(username="ann")
    with lite.session() as session:
        User.objects.get(username="ann")
        assert not session.connection().connection.driver_connection.in_transaction
        with lite.session():  # a unit of its own, on another connection
            User.objects.create(username="bob")
        User.objects.create(username="cy")
        assert session.connection().connection.driver_connection.in_transaction
    with lite.session():
        assert sorted(User.objects.values_list("username", flat=True)) == ["ann", "bob", "cy"]


def test_sqlite_writers_wait_for_each_other_instead_of_failing(lite: Database) -> None:
    with lite.session():
        User.objects.create(username="ann")
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def write_slowly() -> None:
        try:
            with lite.session():
                User.objects.filter(username="ann").update(is_editor=True)
                first_wrote.set()
                time.sleep(0.3)  # holds the write lock meanwhile
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
            first_wrote.set()

    writer = threading.Thread(target=write_slowly)
    writer.start()
    first_wrote.wait(5)
    with lite.session():
        User.objects.get(username="ann")
        Tag.objects.create(name="tea")  # waits for the lock, then writes
    writer.join()
    assert errors == []
    with lite.session():
        assert User.objects.get(username="ann").is_editor
        assert Tag.objects.filter(name="tea").exists()
