"""The database backend's worker loop: claim due rows, run them, record the outcomes.

One asyncio loop per ``kettle worker``: ``async def`` tasks run on it, ``def`` tasks in a
pool of ``concurrency`` threads, and at most ``concurrency`` run at once. The loop claims
only as many rows as it has free slots, so nothing waits claimed but unstarted. While
tasks run it renews their leases (a heartbeat every third of the visibility timeout);
every worker also puts back rows whose lease expired, so a killed worker loses nothing::

    loop = backend.worker(registry, queues=["default"], concurrency=4)
    loop.run()          # until loop.stop(grace) is called (SIGTERM does that)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.engine import Connection

from kettle.tasks import _rows
from kettle.tasks._message import TaskMessage
from kettle.tasks._registry import Outcome, Registry

if TYPE_CHECKING:
    from kettle.tasks.database import DatabaseBackend

log = logging.getLogger("kettle.tasks")
T = TypeVar("T")

#: The shortest and longest wait between two claims that found nothing.
IDLE_MIN, IDLE_MAX = 0.05, 1.0


@dataclass
class Counts:
    """What a worker has done so far (its status line shows them)."""

    done: int = 0
    failed: int = 0
    retried: int = 0
    reclaimed: int = 0


class DatabaseWorker:
    """The ``WorkerLoop`` of the database backend (see the module docstring)."""

    def __init__(
        self,
        backend: DatabaseBackend,
        registry: Registry,
        *,
        queues: Sequence[str],
        concurrency: int,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.queues = list(queues)
        self.concurrency = max(1, concurrency)
        #: This worker's name in ``locked_by``: host, process id and a random suffix.
        self.id = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts = Counts()
        #: The tasks running now, by id (the status line shows how many).
        self.running: dict[str, asyncio.Task[None]] = {}
        self.lease = backend.visibility_timeout
        #: Outcomes not yet written (the next pass of the loop writes them in one go).
        self._finished: list[tuple[TaskMessage, Outcome]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._grace = 0.0
        self._started = threading.Event()
        self._pending_stop: float | None = None

    # --- control ---------------------------------------------------------------------------
    def run(self) -> None:
        """Claim and run tasks until ``stop``; blocks."""
        asyncio.run(self.arun())

    def stop(self, grace: float) -> None:
        """Claim nothing more; give running tasks ``grace`` seconds, then put the rest back.
        Safe from a signal handler or another thread."""
        loop = self._loop
        if loop is None or not self._started.is_set():
            self._pending_stop = grace
            return
        loop.call_soon_threadsafe(self._begin_stop, grace)

    def _begin_stop(self, grace: float) -> None:
        self._grace = grace
        assert self._stopping is not None
        assert self._wake is not None
        self._stopping.set()
        self._wake.set()

    async def arun(self) -> None:
        """``run`` on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping, self._wake = asyncio.Event(), asyncio.Event()
        self._db = ThreadPoolExecutor(2, thread_name_prefix="kettle-tasks-db")
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="kettle-task")
        self._started.set()
        if self._pending_stop is not None:
            self._begin_stop(self._pending_stop)
        keeper = asyncio.create_task(self._keep_leases())
        try:
            await self._consume()
            await self._drain()
        finally:
            keeper.cancel()
            self._db.shutdown(wait=False)
            self._pool.shutdown(wait=False, cancel_futures=True)
            # Tasks that used the database from async code (an `aenqueue`, say) pooled
            # connections on this loop's engine: close them while the loop still runs,
            # or drivers such as aiomysql fail to later ("Event loop is closed").
            try:
                await self.backend.database.adispose()
            except Exception as error:  # the database is down: nothing left to close well
                log.warning("Could not close the worker's database connections: %s", error)

    # --- claiming and recording ----------------------------------------------------------
    async def _consume(self) -> None:
        assert self._stopping is not None
        idle = IDLE_MIN
        while not self._stopping.is_set():
            free = self.concurrency - len(self.running)
            claimed: list[TaskMessage] = []
            try:
                claimed = await self._exchange(free)
            except Exception as error:  # the database is down: wait, then try again
                log.warning("Could not claim or record tasks (%s); trying again.", error)
                idle = IDLE_MAX
            for message in claimed:
                self.running[message.id] = asyncio.create_task(self._execute(message))
            if claimed:
                idle = IDLE_MIN
            if claimed and len(claimed) == free:
                await self._wait(0)  # every slot busy: go on when one frees
                continue
            # PERF: poll less and less often while there is nothing to do.
            await self._wait(idle)
            if not claimed:
                idle = min(idle * 2, IDLE_MAX)

    async def _exchange(self, free: int) -> list[TaskMessage]:
        """Record the outcomes waiting and claim up to ``free`` tasks, in one transaction.

        PERF: one commit (the expensive part: a flush to disk) for every task finished
        since the last pass, and the claim rides along, instead of a transaction each.
        """
        finished, self._finished = self._finished, []
        if not finished and free <= 0:
            return []

        def exchange(connection: Connection) -> tuple[int | None, list[TaskMessage]]:
            kept = _rows.finish_many(connection, finished, worker=self.id) if finished else 0
            claimed = (
                _rows.claim(connection, self.queues, free, worker=self.id, lease=self.lease)
                if free > 0
                else []
            )
            return kept, claimed

        try:
            kept, claimed = await self._in_transaction(exchange)
        except BaseException:
            self._finished[:0] = finished  # recorded at the next pass
            raise
        if kept is not None and kept < len(finished):
            log.warning(
                "%d task(s) outlived their lease; another run takes over.", len(finished) - kept
            )
        for message, outcome in finished:
            self._count(message, outcome)
        return claimed

    async def _wait(self, seconds: float) -> None:
        assert self._wake is not None
        assert self._stopping is not None
        if seconds == 0:
            if len(self.running) >= self.concurrency:
                await self._wake.wait()
            self._wake.clear()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        if not self._stopping.is_set():
            self._wake.clear()

    async def _execute(self, message: TaskMessage) -> None:
        outcome = await self.registry.arun(message, executor=self._pool)
        self._finished.append((message, outcome))
        self.running.pop(message.id, None)
        assert self._wake is not None
        self._wake.set()

    def _count(self, message: TaskMessage, outcome: Outcome) -> None:
        if outcome.state == "done":
            self.counts.done += 1
        elif outcome.state == "retry":
            self.counts.retried += 1
        else:
            self.counts.failed += 1
            log.error("Task %s (%s) failed: %s", message.name, message.id, outcome.error)

    # --- leases ----------------------------------------------------------------------------
    async def _keep_leases(self) -> None:
        """Renew this worker's leases and put back expired ones, every third of a lease."""
        while True:
            try:
                ids = [*self.running, *(message.id for message, _ in self._finished)]
                if ids:
                    await self._in_transaction(
                        functools.partial(
                            _rows.renew, task_ids=ids, worker=self.id, lease=self.lease
                        )
                    )
                back = await self._in_transaction(_rows.reclaim)
                if back:
                    self.counts.reclaimed += back
                    log.warning("Put %d task(s) of a stopped worker back in the queue.", back)
                    assert self._wake is not None
                    self._wake.set()
            except Exception as error:
                log.warning("Could not renew task leases (%s); trying again.", error)
            await asyncio.sleep(self.lease / 3)

    async def _drain(self) -> None:
        """Wait up to the grace period for running tasks, record what finished, and put
        the others back in the queue."""
        late: set[asyncio.Task[None]] = set()
        if self.running:
            _, late = await asyncio.wait(list(self.running.values()), timeout=self._grace)
        ids = [task_id for task_id, task in self.running.items() if task in late]
        for task in late:
            task.cancel()
        for attempt in range(5):
            try:
                await self._exchange(0)
                break
            except Exception as error:
                log.warning("Could not record finished tasks (%s); trying again.", error)
                await asyncio.sleep(0.2 * 2**attempt)
        if ids:
            log.warning("Putting %d unfinished task(s) back in the queue.", len(ids))
            await self._in_transaction(
                functools.partial(_rows.release, task_ids=ids, worker=self.id)
            )

    async def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        engine = self.backend.database.sync_engine

        def run() -> T:
            with engine.connect() as connection:
                if connection.dialect.name == "mysql":
                    # NOTE: no gap locks, so two workers' claims never wait on each other.
                    connection.execution_options(isolation_level="READ COMMITTED")
                with connection.begin():
                    return work(connection)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, run)


__all__ = ["IDLE_MAX", "IDLE_MIN", "Counts", "DatabaseWorker"]
