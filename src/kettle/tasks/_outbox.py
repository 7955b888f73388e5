"""Messages whose unit of work committed while the broker could not take them.

An enqueue inside a kettle.db unit of work is sent when the unit commits. The broker was
known to answer at the enqueue (else the request failed with a 503), but it can go down
between then and the commit, and by then the request's writes are in: the task must not be
lost, and the response must not fail. The distributed backend then puts the messages here,
and a thread of this process sends them as soon as the broker answers again (at-least-once
while the process lives; a process that exits first logs what it could not send)::

    outbox = Outbox(send=backend.send, where="Redis at 127.0.0.1:6379/0")
    outbox.add(messages)        # after a failed send at commit; returns at once
    outbox.waiting              # how many wait for the broker
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Sequence

from kettle.tasks._backend import TasksUnavailable
from kettle.tasks._message import TaskMessage

logger = logging.getLogger("kettle.tasks")

#: The first and the longest wait between two attempts, in seconds.
FIRST_WAIT, LONGEST_WAIT = 0.1, 5.0


class Outbox:
    """The messages waiting for the broker, and the thread that sends them (see the
    module docstring)::

        outbox = Outbox(send=backend.send, where="Redis at 127.0.0.1:6379/0")
        outbox.add([message])
    """

    def __init__(self, send: Callable[[Sequence[TaskMessage]], object], where: str) -> None:
        self._send = send
        self.where = where
        self._lock = threading.Lock()
        self._waiting: list[TaskMessage] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._reporting = False

    @property
    def waiting(self) -> int:
        """How many messages wait for the broker."""
        with self._lock:
            return len(self._waiting)

    def add(self, messages: Sequence[TaskMessage]) -> None:
        """Keep ``messages`` to send once the broker answers (returns at once)."""
        logger.warning(
            "the task broker (%s) was down when a unit of work committed; %d task(s) (%s) "
            "wait in this process and go out when it answers again",
            self.where,
            len(messages),
            ", ".join(f"{m.name} {m.id}" for m in messages),
        )
        with self._lock:
            self._waiting.extend(messages)
            if self._thread is None:  # none running: start one (it ends once all are sent)
                self._thread = threading.Thread(target=self._run, name="kettle-outbox", daemon=True)
                self._thread.start()
                if not self._reporting:
                    self._reporting = True
                    atexit.register(self._report)
        self._wake.set()

    def _run(self) -> None:
        wait = FIRST_WAIT
        while True:
            with self._lock:
                # `add` only appends: the batch stays first in the list until it is sent.
                batch = list(self._waiting)
                if not batch:
                    self._thread = None
                    return
            try:
                self._send(batch)
            except TasksUnavailable as error:  # still down: try again a little later
                logger.debug("the task broker is still down (%s); retrying", error)
                self._wake.clear()
                self._wake.wait(wait)
                wait = min(wait * 2, LONGEST_WAIT)
                continue
            except Exception:
                logger.exception("could not send %d task(s) that waited for the broker", len(batch))
            else:
                logger.warning(
                    "sent %d task(s) that waited for the broker (%s)", len(batch), self.where
                )
            with self._lock:
                del self._waiting[: len(batch)]
            wait = FIRST_WAIT

    def _report(self) -> None:
        with self._lock:
            lost = list(self._waiting)
        if lost:
            logger.error(
                "the process exits with %d task(s) never sent (the broker, %s, stayed down): %s",
                len(lost),
                self.where,
                ", ".join(f"{m.name} {m.id}" for m in lost),
            )


__all__ = ["Outbox"]
