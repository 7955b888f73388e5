"""Checking a pooled connection before use, without a round trip when it was just used.

SQLAlchemy's ``pool_pre_ping`` asks the server on every checkout; with asyncpg that is
three round trips (``BEGIN``, ``;``, ``ROLLBACK``), more than a one-query request's own
work. Kettle's engines check instead:

- a connection back in the pool for less than ``IDLE_PING_SECONDS`` is looked at, not
  pinged: one ``poll()`` of its socket, which never waits, tells whether the server
  closed it (a restart, a killed backend, a proxy cut) or sent something unasked (a
  shutdown notice); only then is it pinged;
- a connection idle for longer (where firewalls and timeouts drop connections without a
  word), or one whose socket cannot be found, is pinged as before;
- a fresh connection is used as it is.

A failed ping replaces every pooled connection older than now, as ``pool_pre_ping`` does,
so the request after a database restart still succeeds with no restart of Kettle.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

#: A connection unused for longer than this is pinged before use.
IDLE_PING_SECONDS = 5.0
_CHECKED_IN = "kettle_checked_in"
_SOCKET = "kettle_socket"
#: What ``poll`` reports for a socket that is not idle and open: data or end of file
#: waiting, an error, the peer gone.
_NOT_IDLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def watch(engine: Engine) -> None:
    """Check ``engine``'s pooled connections on checkout (see the module docstring)."""
    dialect = engine.dialect

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        info = record.info
        checked_in = info.get(_CHECKED_IN)
        if checked_in is None:  # fresh from connect(): nothing to check
            return
        # PERF: a connection used moments ago costs a syscall here, not a round trip.
        if time.monotonic() - checked_in < IDLE_PING_SECONDS and is_open(info.get(_SOCKET)):
            return
        if not dialect._do_ping_w_event(dbapi_connection):
            raise exc.InvalidatePoolError()  # the pool replaces it (and the older ones)

    event.listen(engine, "connect", _remember_socket)
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", _stamp)


def _stamp(dbapi_connection: Any, record: Any) -> None:
    if dbapi_connection is not None:
        record.info[_CHECKED_IN] = time.monotonic()


def _remember_socket(dbapi_connection: Any, record: Any) -> None:
    record.info[_SOCKET] = socket_of(dbapi_connection)


def socket_of(dbapi_connection: Any) -> Callable[[], int] | None:
    """A function returning the file descriptor of the connection's socket to the server
    (-1 once the driver closed it), if the driver lets it be found.

    Known: psycopg, asyncpg, PyMySQL and aiomysql; for anything else None (always pinged).
    The descriptor is asked for each time: a number kept from before may since belong to
    another socket.
    """
    try:
        if hasattr(dbapi_connection, "_connection"):  # SQLAlchemy's asyncio adapters
            driver = dbapi_connection._connection
            transport = getattr(driver, "_transport", None)  # asyncpg
            if transport is None:  # aiomysql
                transport = driver._writer.transport
            # asyncio's socket wrapper answers -1 once the transport has closed it.
            return transport.get_extra_info("socket").fileno  # type: ignore[no-any-return]
        if hasattr(dbapi_connection, "pgconn"):  # psycopg
            return dbapi_connection.fileno  # type: ignore[no-any-return]
        if hasattr(dbapi_connection, "_sock"):  # PyMySQL (None once closed)
            return lambda: dbapi_connection._sock.fileno() if dbapi_connection._sock else -1
    except Exception:
        return None
    return None


def is_open(fileno: Callable[[], int] | None) -> bool:
    """Whether the socket is still open at both ends with nothing waiting to be read.

    Data waiting on an idle database connection is a notice (PostgreSQL says goodbye
    before a shutdown), so it counts as not open: the caller pings.
    """
    if fileno is None:
        return False
    try:
        number = fileno()
    except Exception:  # the driver's own error for a closed connection
        return False
    if number < 0:
        return False
    # PERF: one poll(2) of the descriptor, with no socket object made around it (~5 µs
    # less per checkout than a non-blocking recv(MSG_PEEK) through socket.socket).
    poller = select.poll()
    poller.register(number, _NOT_IDLE)
    return not poller.poll(0)


__all__ = ["IDLE_PING_SECONDS", "is_open", "socket_of", "watch"]
