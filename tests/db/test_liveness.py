"""Pooled connections are pinged only when idle, and replaced when the server closed them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa
from newsmodels import User

from kettle.db import Database, _liveness
from kettle.db.session import async_session


@pytest.fixture
def server_db(db: Database) -> Database:
    if db.dialect == "sqlite":
        pytest.skip("SQLite connections are files: nothing to ping (and none are pinged)")
    return db


def count_pings(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one on each ping of ``engine``'s connections."""
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def backend_id(db: Database) -> int:
    query = "SELECT pg_backend_pid()" if db.dialect == "postgresql" else "SELECT CONNECTION_ID()"
    with db.session() as session:
        return int(session.execute(sa.text(query)).scalar_one())


def kill(db: Database, backend: int) -> None:
    """End the server side of connection ``backend``, from a connection of its own."""
    engine = sa.create_engine(db._urls[1], poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            if db.dialect == "postgresql":
                connection.execute(sa.text(f"SELECT pg_terminate_backend({backend})"))
            else:
                connection.exec_driver_sql(f"KILL {backend}")
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(
    server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(server_db.sync_engine, monkeypatch)
    for _ in range(3):
        with server_db.session():
            assert User.objects.count() == 0
    assert pings == []


def test_a_connection_idle_for_longer_than_the_threshold_is_pinged(
    server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(server_db.sync_engine, monkeypatch)
    with server_db.session():  # a fresh connection: not pinged
        User.objects.count()
    assert pings == []
    monkeypatch.setattr(_liveness, "IDLE_PING_SECONDS", 0.0)
    with server_db.session():
        User.objects.count()
    assert pings == [1]


def test_a_connection_the_server_closed_is_pinged_and_replaced(
    server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = backend_id(server_db)
    pings = count_pings(server_db.sync_engine, monkeypatch)
    kill(server_db, old)
    fileno = next(iter(_sockets(server_db.sync_engine)))
    deadline = time.monotonic() + 5  # the server closes the socket soon after the kill
    while _liveness.is_open(fileno) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backend_id(server_db) != old  # no error: the dead connection was replaced
    assert pings == [1]


def test_async_connections_are_checked_the_same_way(
    server_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(server_db.async_engine.sync_engine, monkeypatch)

    async def main() -> None:
        try:
            for _ in range(3):
                async with server_db.async_session():
                    await async_session().execute(sa.text("SELECT 1"))
            assert pings == []
            monkeypatch.setattr(_liveness, "IDLE_PING_SECONDS", 0.0)
            async with server_db.async_session():
                await async_session().execute(sa.text("SELECT 1"))
            assert pings == [1]
        finally:
            await server_db.async_engine.dispose()

    asyncio.run(main())


def test_the_socket_of_every_server_driver_is_found(server_db: Database) -> None:
    with server_db.session():
        User.objects.count()
    [fileno] = _sockets(server_db.sync_engine)
    assert fileno is not None
    assert _liveness.is_open(fileno)


def _sockets(engine: sa.Engine) -> list[Any]:
    """The socket getters of the pooled connections of ``engine``."""
    pool: Any = engine.pool
    return [record.info[_liveness._SOCKET] for record in list(pool._pool.queue)]


def test_is_open_tells_an_idle_socket_from_one_with_data_an_end_or_no_descriptor() -> None:
    import socket

    ours, theirs = socket.socketpair()
    try:
        assert _liveness.is_open(ours.fileno)  # idle, open at both ends
        theirs.send(b"N")  # a notice waiting to be read
        assert not _liveness.is_open(ours.fileno)
        ours.recv(1)
        assert _liveness.is_open(ours.fileno)
        theirs.close()  # the server went away: end of file
        assert not _liveness.is_open(ours.fileno)
    finally:
        ours.close()
    assert not _liveness.is_open(ours.fileno)  # closed by the driver: -1
    assert not _liveness.is_open(None)

    def broken() -> int:
        raise OSError("closed")

    assert not _liveness.is_open(broken)
