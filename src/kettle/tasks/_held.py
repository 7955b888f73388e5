"""Outcomes a worker thread holds back, to write them with its next task's start.

A distributed worker writes two things per task: the start (the record moves to running,
which also refuses a cancelled task) and the outcome (with the broker's acknowledgement).
Each is a Redis round trip, and on a loaded machine the round trips are the worker's
cost. A thread that finished a task therefore holds its outcome and sends it in the same
round trip as its next start; when no next task comes within ``delay`` seconds, a flusher
thread writes it alone. A held outcome is not lost to a crash in a way that matters: its
message is not acknowledged yet, so the broker hands it out again (at-least-once)::

    held = HeldWrites(write=lambda writes: run_in_one_pipeline(writes), delay=0.005)
    held.start()
    held.hold(outcome_write)        # in a worker thread, after its task
    previous = held.take()          # the same thread, at its next task: write it along
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

#: One deferred write: adds its commands to a Redis pipeline.
Write = Callable[[Any], None]


class HeldWrites:
    """Each thread's held write, and the flusher that writes those left waiting (see the
    module docstring)::

        held = HeldWrites(write=flush, delay=0.005)
        held.start()
        ...
        held.stop()                 # writes what is still held, then returns
    """

    def __init__(self, write: Callable[[list[Write]], object], delay: float) -> None:
        self._write = write
        self.delay = delay
        self._lock = threading.Lock()
        self._held: dict[int, tuple[float, Write]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._run, name="kettle-held", daemon=True)

    def hold(self, write: Write) -> None:
        """Hold ``write`` for this thread's next ``take`` (or the flusher)."""
        with self._lock:
            self._held[threading.get_ident()] = (time.monotonic(), write)
            self._wake.set()

    def take(self) -> Write | None:
        """This thread's held write, now the caller's to send; None if there is none (the
        flusher wrote it, or the thread holds nothing)."""
        with self._lock:
            entry = self._held.pop(threading.get_ident(), None)
        return None if entry is None else entry[1]

    def start(self) -> None:
        """Start the flusher thread."""
        self._flusher.start()

    def _run(self) -> None:
        # The flusher: writes what waited `delay` seconds, until stop().
        while True:
            self._wake.wait()
            # PERF: asleep while nothing is held; when busy, one wake per `delay`.
            if self._stopping.wait(self.delay):
                return
            self._flush(time.monotonic() - self.delay)

    def _flush(self, older_than: float) -> None:
        with self._lock:
            due = [key for key, (since, _) in self._held.items() if since <= older_than]
            writes = [self._held.pop(key)[1] for key in due]
            if not self._held:
                self._wake.clear()
        if writes:
            self._write(writes)

    def stop(self) -> None:
        """Stop the flusher, then write everything still held (call it once the worker
        threads have stopped)."""
        self._stopping.set()
        self._wake.set()
        if self._flusher.is_alive():
            self._flusher.join()
        self._flush(float("inf"))


__all__ = ["HeldWrites", "Write"]
