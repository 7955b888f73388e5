"""A real PostgreSQL primary and a streaming replica of it, for tests of read replicas.

Both run from this machine's PostgreSQL binaries on free ports, in a new temporary
directory (never the machine's own server on 5432), and stop at the end even when a
test fails. Start-up takes a few seconds, so start them once per test session::

    pair = start_primary_and_replica()
    try:
        engine = sa.create_engine(pair.replica_url)  # a hot standby: reads only
        pair.pause_replay()                          # the replica lags from here...
        pair.resume_replay()                         # ...and catches up
    finally:
        pair.stop()

It unpacks as ``(primary_url, replica_url, stop)`` too::

    primary_url, replica_url, stop = start_primary_and_replica()

Running as root, the servers run as the ``postgres`` user (``initdb`` refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from servers import free_port

#: Settings for speed: these servers hold nothing that must survive a crash.
_SETTINGS = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
wal_writer_delay = 10ms
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
wal_receiver_status_interval = 1s
"""


def binaries() -> str | None:
    """The directory of the newest installed PostgreSQL's server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return os.path.dirname(found[-1]) if found else None


def _version(path: str) -> int:
    return int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0


@dataclass
class PrimaryAndReplica:
    """The running pair: their ``postgresql://`` URLs (user ``postgres``, database
    ``postgres``, no password), and ``stop()``, which stops both and removes their files."""

    primary_url: str
    replica_url: str
    stop: Callable[[], None]
    directory: str = ""
    _engines: dict[str, sa.Engine] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.primary_url, self.replica_url, self.stop))

    def engine(self, which: str) -> sa.Engine:
        """An AUTOCOMMIT engine on ``"primary"`` or ``"replica"``, for asking the server."""
        if which not in self._engines:
            url = self.primary_url if which == "primary" else self.replica_url
            self._engines[which] = sa.create_engine(
                url.replace("postgresql://", "postgresql+psycopg://"),
                isolation_level="AUTOCOMMIT",
                poolclass=sa.pool.NullPool,
            )
        return self._engines[which]

    def scalar(self, which: str, sql: str) -> Any:
        """The value of ``sql`` run on ``"primary"`` or ``"replica"`` (None: no rows)."""
        with self.engine(which).connect() as connection:
            result = connection.exec_driver_sql(sql)
            return result.scalar() if result.returns_rows else None

    def pause_replay(self) -> None:
        """Stop applying WAL on the replica: it serves reads, ever more stale."""
        self.scalar("replica", "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        """Apply WAL again and wait until the replica has everything the primary wrote."""
        self.scalar("replica", "SELECT pg_wal_replay_resume()")
        self.wait_caught_up()

    def wait_caught_up(self, timeout: float = 10.0) -> None:
        """Wait until the replica has replayed all the WAL the primary has written."""
        target = self.scalar("primary", "SELECT pg_current_wal_insert_lsn()::text")
        sql = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        _wait(lambda: bool(self.scalar("replica", sql)), timeout, "the replica to catch up")


def start_primary_and_replica(
    directory: str | os.PathLike[str] | None = None,
) -> PrimaryAndReplica:
    """Start a new primary and a streaming replica of it (see the module docstring).

    ``directory`` is where their data directories go, in a new folder (the system's
    temporary directory by default, and instead of a ``directory`` that the ``postgres``
    user cannot enter when running as root, such as pytest's ``tmp_path``). Raises
    ``RuntimeError`` saying what failed, with the server's log, if either will not start.
    """
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("No PostgreSQL server binaries under /usr/lib/postgresql/*/bin.")
    if directory is not None and os.geteuid() == 0 and not _open_to_others(directory):
        directory = None
    root = tempfile.mkdtemp(prefix="kettle-pgreplica-", dir=directory)
    as_user = _as_postgres(root)
    primary_dir, replica_dir = os.path.join(root, "primary"), os.path.join(root, "replica")
    primary_port, replica_port = free_port(), free_port()
    started: list[str] = []

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_user, *command], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def start(data: str, port: int) -> None:
        options = f"-p {port} -k {data}"
        log = os.path.join(data, "server.log")
        try:
            run(
                f"{bin_dir}/pg_ctl", "start", "-w", "-t", "30", "-D", data, "-l", log, "-o", options
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{_tail(log)}") from None
        started.append(data)

    def stop() -> None:
        for data in reversed(started):
            subprocess.run(
                [*as_user, f"{bin_dir}/pg_ctl", "stop", "-m", "immediate", "-D", data],
                capture_output=True,
                timeout=60,
                check=False,
            )
        started.clear()
        for engine in pair._engines.values():
            engine.dispose()
        shutil.rmtree(root, ignore_errors=True)

    primary_url = f"postgresql://postgres@127.0.0.1:{primary_port}/postgres"
    replica_url = f"postgresql://postgres@127.0.0.1:{replica_port}/postgres"
    pair = PrimaryAndReplica(primary_url, replica_url, stop, root)
    try:
        run(
            f"{bin_dir}/initdb", "-D", primary_dir, "-U", "postgres", "-A", "trust",
            "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with open(os.path.join(primary_dir, "postgresql.conf"), "a") as conf:
            conf.write(_SETTINGS)
        start(primary_dir, primary_port)
        run(
            f"{bin_dir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port),
            "-U", "postgres", "-D", replica_dir, "-R", "-X", "stream", "-c", "fast",
            "--no-sync",
        )  # fmt: skip
        start(replica_dir, replica_port)
        sql = "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"
        _wait(lambda: bool(pair.scalar("replica", sql)), 30, "the replica to stream")
    except BaseException:
        stop()
        raise
    return pair


@contextlib.contextmanager
def primary_and_replica(
    directory: str | os.PathLike[str] | None = None,
) -> Iterator[PrimaryAndReplica]:
    """``start_primary_and_replica`` as a ``with`` block that stops both at its end."""
    pair = start_primary_and_replica(directory)
    try:
        yield pair
    finally:
        pair.stop()


def _as_postgres(root: str) -> list[str]:
    """The command prefix to run the server binaries with (root cannot run initdb)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    os.chown(root, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


def _open_to_others(directory: str | os.PathLike[str]) -> bool:
    """Whether another user may enter ``directory`` (every folder on its path lets them)."""
    path = os.path.abspath(directory)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _wait(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except sa.exc.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Timed out after {timeout}s waiting for {what}.")
        time.sleep(0.05)


def _tail(log: str) -> str:
    try:
        with open(log) as file:
            return file.read()[-4000:]
    except OSError:
        return f"(no log at {log})"
