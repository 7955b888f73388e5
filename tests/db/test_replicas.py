"""Read replicas on a real PostgreSQL streaming replica: where each statement runs.

The primary and the replica are servers of their own (tests/db/pgreplica.py). Where a read
ran is asked of the server itself, through the unit of work's own connection:
``pg_is_in_recovery()`` is true on the replica only. The replica is reached through a TCP
proxy, so stopping the proxy takes it "down" without touching the server.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import ANY

import pytest
import sqlalchemy as sa
from dbhelpers import arun

from kettle import App, Settings
from kettle.db import Database, DatabaseUnavailable, async_session, atomic, fields, sync_session
from kettle.db._deferred import UnitSession
from kettle.db._replicas import PIN_COOKIE, RoutedSession
from kettle.db.models import NAMING_CONVENTION, Model
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient
from tcpproxy import Proxy

if TYPE_CHECKING:
    from pgreplica import PrimaryAndReplica

KINDS = ["def", "async"]


class Replicated(Model):
    """Models of these tests only: their table lives in a MetaData of its own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ReplicaNote(Replicated):
    text: str = fields.string(max_length=50)


IN_RECOVERY = sa.select(sa.func.pg_is_in_recovery(), sa.func.pg_backend_pid())


@pytest.fixture
def proxy(pg_replica: PrimaryAndReplica) -> Iterator[Proxy]:
    url = sa.make_url(pg_replica.replica_url)
    running = Proxy("127.0.0.1", url.port or 5432)
    running.start()
    yield running
    running.close()


@pytest.fixture
def tables(pg_replica: PrimaryAndReplica) -> Iterator[None]:
    engine = pg_replica.engine("primary")
    Replicated.metadata.drop_all(engine)
    Replicated.metadata.create_all(engine)
    with engine.connect() as connection:
        connection.execute(sa.insert(ReplicaNote).values(text="first"))
    pg_replica.wait_caught_up()
    yield
    pg_replica.resume_replay()  # a test that paused replay may have failed before resuming
    Replicated.metadata.drop_all(engine)


def make_app(
    pg_replica: PrimaryAndReplica,
    proxy: Proxy,
    tmp_path: Path,
    kind: str,
    fast_path: bool,
    pin_seconds: int = 5,
    replicated: bool = True,
) -> tuple[App, Database]:
    """An app reading from the replica through ``proxy`` (none: ``replicated=False``).
    Each route answers where its unit's last read ran (``replica``: pg_is_in_recovery())
    and the notes it sees."""
    settings = Settings.load(env="testing", env_file=None)
    settings.db_replica_pin_seconds = pin_seconds
    app = App(settings=settings, root=tmp_path)
    replica = sa.make_url(pg_replica.replica_url).set(port=proxy.port)
    db = Database(
        app,
        url=pg_replica.primary_url,
        replicas=[replica.render_as_string(hide_password=False)] if replicated else [],
        fast_path=fast_path,
    )
    if replicated:
        assert db.replicas is not None
        db.replicas.retry_after = 0.5

    def answer(recovery: Any, notes: list[str]) -> dict[str, Any]:
        return {"replica": recovery[0], "pid": recovery[1], "notes": notes}

    if kind == "def":

        def where() -> Any:
            return sync_session().execute(IN_RECOVERY).one()

        def texts(qs: Any) -> list[str]:
            return [note.text for note in qs.order_by("id")]

        @app.get("/notes")
        def read(using: str = "", primary: bool = False) -> dict[str, Any]:
            qs = ReplicaNote.objects.using(using) if using else ReplicaNote.objects.all()
            if primary:
                with db.primary():
                    return answer(where(), texts(qs))
            return answer(where(), texts(qs))

        @app.post("/notes")
        def write(text: str, then: str = "") -> dict[str, Any]:
            if then == "atomic":
                with atomic():
                    return answer(where(), texts(ReplicaNote.objects))
            if then == "lock":
                ReplicaNote.objects.select_for_update().get(text="first")
                return answer(where(), [])
            note = ReplicaNote.objects.get(text="first")  # from the replica...
            note.text = text  # ...saved on the primary
            note.save()
            return answer(where(), texts(ReplicaNote.objects))

    else:

        async def awhere() -> Any:
            return (await async_session().execute(IN_RECOVERY)).one()

        async def atexts(qs: Any) -> list[str]:
            return [note.text for note in await qs.order_by("id").alist()]

        @app.get("/notes")
        async def aread(using: str = "", primary: bool = False) -> dict[str, Any]:
            qs = ReplicaNote.objects.using(using) if using else ReplicaNote.objects.all()
            if primary:
                with db.primary():
                    return answer(await awhere(), await atexts(qs))
            return answer(await awhere(), await atexts(qs))

        @app.post("/notes")
        async def awrite(text: str, then: str = "") -> dict[str, Any]:
            if then == "atomic":
                async with atomic():
                    return answer(await awhere(), await atexts(ReplicaNote.objects))
            if then == "lock":
                await ReplicaNote.objects.select_for_update().aget(text="first")
                return answer(await awhere(), [])
            note = await ReplicaNote.objects.aget(text="first")
            note.text = text
            await note.asave()
            return answer(await awhere(), await atexts(ReplicaNote.objects))

    return app, db


@pytest.fixture(params=[(kind, fast) for kind in KINDS for fast in (True, False)])
def client(
    request: pytest.FixtureRequest,
    pg_replica: PrimaryAndReplica,
    proxy: Proxy,
    tables: None,
    tmp_path: Path,
) -> Iterator[TestClient]:
    """A client of the app, for ``def`` and ``async def`` handlers, fast path on and off."""
    kind, fast_path = request.param
    app, _ = make_app(pg_replica, proxy, tmp_path, kind, fast_path)
    with TestClient(app) as running:
        yield running


def test_reads_run_on_the_replica(client: TestClient, pg_replica: PrimaryAndReplica) -> None:
    body = client.get("/notes").json()
    assert body == {"replica": True, "pid": body["pid"], "notes": ["first"]}
    # The server agrees: the unit's connection was one of the replica's, not the primary's.
    activity = "SELECT count(*) FROM pg_stat_activity WHERE pid = {}"
    assert pg_replica.scalar("replica", activity.format(body["pid"])) == 1
    assert pg_replica.scalar("primary", activity.format(body["pid"])) == 0


def test_after_a_write_the_unit_reads_its_writes_on_the_primary(
    client: TestClient, pg_replica: PrimaryAndReplica
) -> None:
    pg_replica.pause_replay()  # the replica lags: only the primary has the write
    body = client.post("/notes", params={"text": "edited"}).json()
    assert body["replica"] is False
    assert body["notes"] == ["edited"]

    # A request without the pin cookie (another client) reads the lagging replica: stale,
    # as documented...
    client.cookies.clear()
    assert client.get("/notes").json()["notes"] == ["first"]
    # ...unless it asks for the primary, for one query or for a block.
    assert client.get("/notes", params={"using": "primary"}).json()["notes"] == ["edited"]
    forced = client.get("/notes", params={"primary": True}).json()
    assert forced == {"replica": False, "pid": forced["pid"], "notes": ["edited"]}

    pg_replica.resume_replay()
    assert client.get("/notes").json()["notes"] == ["edited"]


def test_after_a_write_the_client_reads_from_the_primary_for_a_while(
    client: TestClient, pg_replica: PrimaryAndReplica
) -> None:
    # Reads set no cookie: the client stays on the replicas.
    read = client.get("/notes")
    assert read.json()["replica"] is True
    assert "set-cookie" not in read.headers
    pg_replica.pause_replay()  # the replica lags from here: only the primary has the write

    written = client.post("/notes", params={"text": "edited"})
    cookie = written.headers["set-cookie"]
    assert cookie.startswith(f"{PIN_COOKIE}=")
    assert "Max-Age=5" in cookie
    assert "HttpOnly" in cookie
    pin = client.cookies[PIN_COOKIE]

    # The redirect after the POST, say: this client sees its write, from the primary...
    body = client.get("/notes").json()
    assert body == {"replica": False, "pid": body["pid"], "notes": ["edited"]}
    activity = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {body['pid']}"
    assert pg_replica.scalar("primary", activity) == 1
    # ...and a read that asks for a replica still gets one.
    assert client.get("/notes", params={"using": "replica"}).json()["notes"] == ["first"]

    # Another client (no cookie) still reads the lagging replica.
    client.cookies.clear()
    assert client.get("/notes").json() == {**body, "replica": True, "notes": ["first"], "pid": ANY}

    # A pin the secret key did not sign, or whose time was moved on, is ignored.
    until, _, signature = pin.partition(".")
    forgeries = [
        f"{until}.{'A' * len(signature)}",
        f"{int(until) + 60}.{signature}",
        "x",
        f"{until}.{signature[:-1]}é",
        f"²{until}.{signature}",
        f"{'9' * 5000}.{signature}",
    ]
    client.cookies.clear()
    for forged in forgeries:  # sent as raw bytes: httpx's cookie jar takes ASCII only
        cookie = f"{PIN_COOKIE}={forged}".encode()
        read = client.get("/notes", headers=[(b"cookie", cookie)])
        assert read.status_code == 200, forged
        assert read.json()["replica"] is True, forged
    pg_replica.resume_replay()


def test_the_pin_expires(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path
) -> None:
    app, _ = make_app(pg_replica, proxy, tmp_path, "async", fast_path=True, pin_seconds=1)
    with TestClient(app) as client:
        client.post("/notes", params={"text": "edited"})
        assert client.get("/notes").json()["replica"] is False
        time.sleep(2.1)  # the pin holds for 1 to 2 seconds (whole seconds of Unix time)
        assert client.get("/notes").json()["replica"] is True


@pytest.mark.parametrize("replicated", [True, False], ids=["pin-seconds-0", "no-replicas"])
def test_no_pin_when_off_or_without_replicas(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path, replicated: bool
) -> None:
    seconds = 0 if replicated else 5
    app, _ = make_app(pg_replica, proxy, tmp_path, "def", True, seconds, replicated)
    with TestClient(app) as client:
        written = client.post("/notes", params={"text": "edited"})
        assert written.status_code == 200
        assert "set-cookie" not in written.headers
        assert PIN_COOKIE not in client.cookies


def test_a_failed_write_pins_nothing(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path
) -> None:
    app, _ = make_app(pg_replica, proxy, tmp_path, "def", fast_path=True)

    @app.post("/fail")
    def fail() -> None:
        ReplicaNote.objects.create(text="rolled back")
        raise ValueError("boom")

    with TestClient(app) as client:
        assert client.post("/fail").status_code == 500
        assert PIN_COOKIE not in client.cookies


def test_a_negative_pin_time_is_refused(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tmp_path: Path
) -> None:
    app, _ = make_app(pg_replica, proxy, tmp_path, "def", True, pin_seconds=-1)
    with pytest.raises(ConfigurationError, match=r"db_replica_pin_seconds.*cannot be negative"):
        app.build()


@pytest.mark.parametrize("then", ["atomic", "lock"])
def test_atomic_and_row_locks_run_on_the_primary(client: TestClient, then: str) -> None:
    body = client.post("/notes", params={"text": "unused", "then": then}).json()
    assert body["replica"] is False


def test_using_replica_reads_from_the_replica_after_a_write(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path
) -> None:
    _, db = make_app(pg_replica, proxy, tmp_path, "def", fast_path=True)
    pg_replica.pause_replay()
    with db.session():
        ReplicaNote.objects.create(text="second")
        assert ReplicaNote.objects.count() == 2
        assert ReplicaNote.objects.using("replica").count() == 1
        assert [n.text for n in ReplicaNote.objects.using("replica")] == ["first"]
        assert sync_session().execute(IN_RECOVERY).one()[0] is False
    db.dispose()


def test_a_replica_that_is_down_is_skipped_and_tried_again(
    client: TestClient, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.get("/notes").json()["replica"] is True
    proxy.stop()
    with caplog.at_level(logging.WARNING, logger="kettle.db"):
        for _ in range(3):  # no 500, no 503: the primary answers
            response = client.get("/notes")
            assert response.status_code == 200
            assert response.json() == {**response.json(), "replica": False, "notes": ["first"]}
        assert client.post("/notes", params={"text": "edited"}).status_code == 200
        client.cookies.clear()  # the write pinned this client to the primary for a while
        proxy.start()
        # Within the retry interval the replica is left alone...
        assert client.get("/notes").json()["replica"] is False
        time.sleep(0.6)
        # ...and after it, reads go back to it.
        assert client.get("/notes").json()["replica"] is True
    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "is unreachable" in m]) == 1  # once per outage
    assert len([m for m in messages if "reachable again" in m]) == 1


def test_a_replica_lost_in_the_middle_of_a_unit_fails_that_unit_only(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path
) -> None:
    _, db = make_app(pg_replica, proxy, tmp_path, "def", fast_path=True)
    with pytest.raises(DatabaseUnavailable), db.session() as session:  # noqa: PT012
        assert session.execute(IN_RECOVERY).one()[0] is True
        proxy.stop()
        ReplicaNote.objects.count()  # the replica's connection is gone: as for a lost primary
    with db.session() as session:  # marked down: the next unit reads on the primary
        assert session.execute(IN_RECOVERY).one()[0] is False
        assert ReplicaNote.objects.count() == 1
    db.dispose()


def test_using_names_the_primary_or_a_replica() -> None:
    with pytest.raises(ValueError, match=r"using\('default'\).*'primary' or 'replica'"):
        ReplicaNote.objects.using("default")


def test_reads_go_to_another_replica_when_one_is_down(
    pg_replica: PrimaryAndReplica, proxy: Proxy, tables: None, tmp_path: Path
) -> None:
    # Two replica URLs: one through the proxy, one direct (the same server).
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    through = sa.make_url(pg_replica.replica_url).set(port=proxy.port)
    db = Database(
        app,
        url=pg_replica.primary_url,
        replicas=[through.render_as_string(hide_password=False), pg_replica.replica_url],
    )
    ports = set()
    for _ in range(2):  # round robin: each replica in turn
        with db.session() as session:
            connection = session.connection(bind_arguments={"clause": IN_RECOVERY})
            ports.add(connection.engine.url.port)
            assert session.execute(IN_RECOVERY).one()[0] is True
    assert ports == {proxy.port, sa.make_url(pg_replica.replica_url).port}
    proxy.stop()
    for _ in range(3):
        with db.session() as session:
            assert session.execute(IN_RECOVERY).one()[0] is True
            assert ReplicaNote.objects.count() == 1
    db.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_replica_that_never_answers_costs_one_connect_timeout(
    pg_replica: PrimaryAndReplica, tables: None, tmp_path: Path, kind: str
) -> None:
    # A host that is gone: the TCP handshake may complete (the backlog), no reply comes.
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        url = sa.make_url(pg_replica.replica_url).set(port=silent.getsockname()[1])
        app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
        db = Database(app, url=pg_replica.primary_url, replicas=[url])
        assert db.replicas is not None
        db.replicas.connect_timeout = 1  # libpq waits 2s at least

        async def aread() -> Any:
            async with db.async_session() as session:
                return (await session.execute(IN_RECOVERY)).one()[0]

        def read() -> Any:
            if kind == "async":
                return arun(db, aread)
            with db.session() as session:
                return session.execute(IN_RECOVERY).one()[0]

        started = time.monotonic()
        assert read() is False  # the primary answered
        assert time.monotonic() - started < 5
        started = time.monotonic()
        assert read() is False  # marked down: no second wait
        assert time.monotonic() - started < 0.5
        db.dispose()


def test_settings_and_environment_name_the_replicas(
    pg_replica: PrimaryAndReplica, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load(env="testing", env_file=None)
    settings.database_replica_urls = [pg_replica.replica_url]
    db = Database(App(settings=settings, root=tmp_path), url=pg_replica.primary_url)
    assert db.replicas is not None
    assert [r.name for r in db.replicas.all] == [pg_replica.replica_url]

    monkeypatch.setenv("DATABASE_REPLICA_URLS", f" {pg_replica.replica_url} , postgres://r2/x,")
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url=pg_replica.primary_url)
    assert db.replicas is not None
    assert [r.sync_url.host for r in db.replicas.all] == ["127.0.0.1", "r2"]
    with db.session() as session:
        assert type(session) is RoutedSession


def test_replicas_need_a_server_database(tmp_path: Path) -> None:
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    db = Database(app, url="sqlite://", replicas=["sqlite:///copy.sqlite3"])
    with pytest.raises(
        ConfigurationError,
        match=r"configured \(Database\(replicas=...\)\) but the database is SQLite",
    ):
        _ = db.replicas
    db = Database(app, url="postgresql://p/x", replicas=["mysql://r/x"])
    with pytest.raises(ConfigurationError, match=r"'mysql://r/x'.*is mysql.*primary.*postgresql"):
        _ = db.replicas


def test_without_replicas_sessions_are_plain(db: Database) -> None:
    # PERF: no routing at all (and the whole tests/db suite runs this way).
    assert db.replicas is None
    with db.session() as session:
        assert type(session) is UnitSession
