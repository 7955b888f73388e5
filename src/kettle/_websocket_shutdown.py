"""Open WebSockets closed with 1001 (going away) as soon as the server is told to stop.

The lifespan shut-down comes too late for that: by then uvicorn has closed every
WebSocket itself with 1012 (service restart), and Granian's runtime has dropped them with
no close frame at all. So once a socket is open, Kettle also listens for SIGTERM: it puts
its own handler in front of the server's, closes the open sockets with 1001 (waiting at
most ``GRACE`` seconds for the close frames to go out), then hands the signal on to the
server, which stops as it always does (HTTP requests in flight still finish).

Servers install their SIGTERM handler in one of two ways, and Kettle goes in front of each:

- **A Python signal handler** (uvicorn's ``handle_exit``): Kettle's replaces it with
  ``signal.signal`` and calls it afterwards.
- **An event loop's handler** (``loop.add_signal_handler``: Granian's workers). The loop
  runs it from its own signal pipe whatever the Python handler is, and uvloop does not
  show it to Python, so Kettle cannot call it afterwards. Kettle replaces it on the same
  loop and hands on by sending the worker SIGINT, which Granian 2.x registers on the loop
  with the same callback as SIGTERM (``granian._signals.set_loop_signals``). That relies on
  Granian's internals, so it is done for Granian 2.x only (checked below); any other
  loop-dispatched handler is left alone, and its server drops the sockets as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import weakref
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kettle.app import App

log = logging.getLogger("kettle.websockets")
#: Seconds the close frames may take before the server's own handler runs anyway.
GRACE = 2.0
_Handler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None
#: Granian major versions whose workers register SIGINT and SIGTERM on the event loop with
#: one callback (granian/_signals.py, set_loop_signals; read in 2.8.7). Another major
#: version leaves Granian's handler alone: its sockets drop at SIGTERM, nothing worse.
_GRANIAN_MAJORS = ("2",)


class _Watch:
    """Kettle's SIGTERM handler in front of the server's, for one app."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.closing: asyncio.Task[None] | None = None

    def _start(self, signum: int) -> None:
        if self.closing is None:
            self.closing = self.loop.create_task(self._close_then_pass_on(signum))

    async def _close_then_pass_on(self, signum: int) -> None:
        from kettle._websocket_serve import close_all

        try:
            async with asyncio.timeout(GRACE):
                await close_all(self.app)
        except TimeoutError:
            log.warning("Open WebSockets took over %s s to close; stopping anyway.", GRACE)
        finally:
            self.restore()
            self.pass_on(signum)

    def pass_on(self, signum: int, frame: FrameType | None = None) -> None:
        """Run what the server would have run on ``signum``."""
        raise NotImplementedError

    def restore(self) -> None:
        """Give SIGTERM back to the server (once)."""
        _watches.pop(self.app, None)


class _PythonWatch(_Watch):
    """In front of a Python signal handler (uvicorn's)."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop, previous: _Handler) -> None:
        super().__init__(app, loop)
        self.previous = previous
        self.signalled = False

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        # NOTE: a signal handler runs between two bytecodes of the main thread (the
        # loop's): it only schedules.
        if self.signalled:
            return  # a second SIGTERM while the sockets close: the close passes it on
        if not self.app.websockets:
            self.restore()
            self.previous(signum, frame)
            return
        self.signalled = True
        self.loop.call_soon_threadsafe(self._start, signum)

    def pass_on(self, signum: int, frame: FrameType | None = None) -> None:
        self.previous(signum, frame)

    def restore(self) -> None:
        if _watches.get(self.app) is not self:
            return
        super().restore()
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) == self.on_signal:
            signal.signal(signal.SIGTERM, self.previous)


class _LoopWatch(_Watch):
    """In front of Granian's handler on the worker's event loop.

    ``loop.add_signal_handler`` keeps one callback per signal, so Kettle's replaces
    Granian's for SIGTERM for the rest of the process; once the sockets are closed (or
    when none is open, or after shut-down) it sends SIGINT, whose callback is still
    Granian's: the worker then stops as Granian's SIGTERM would have stopped it.
    """

    def __init__(
        self, app: App, loop: asyncio.AbstractEventLoop, behind: _LoopWatch | None
    ) -> None:
        super().__init__(app, loop)
        self.behind = behind  # another app's watch on this loop (a mounted app), if any

    def on_signal(self, signum: int) -> None:
        # NOTE: the loop calls this as a callback, not inside the signal handler.
        if self.closing is None and self.app.websockets and _watches.get(self.app) is self:
            self._start(signum)
        elif self.closing is None or self.closing.done():  # nothing to close: go on
            self.pass_on(signum)
        # else a second SIGTERM while the sockets close (the process group's, then the
        # one Granian's main process sends its workers): the close passes it on.

    def pass_on(self, signum: int, frame: FrameType | None = None) -> None:
        if self.behind is not None:
            self.behind.on_signal(signum)
        else:
            os.kill(os.getpid(), signal.SIGINT)

    def restore(self) -> None:
        global _in_front
        super().restore()
        if _in_front is self:  # the loop still calls on_signal, which now only passes on
            _in_front = self.behind


_watches: weakref.WeakKeyDictionary[App, _Watch] = weakref.WeakKeyDictionary()
#: The _LoopWatch that gets SIGTERM from the loop now (the latest installed).
_in_front: _LoopWatch | None = None


def _loop_dispatches(handler: _Handler) -> bool:
    """Whether ``handler`` is an event loop's own (``loop.add_signal_handler``): the loop
    then runs the server's callback from its signal pipe, and it cannot be put off."""
    owner = getattr(handler, "__self__", None)
    return isinstance(owner, asyncio.AbstractEventLoop) or (
        getattr(handler, "__module__", "") == "asyncio.unix_events"
    )


def _under_granian() -> bool:
    """Whether this process is a Granian 2.x worker whose loop has SIGINT as well as
    SIGTERM (so SIGINT can hand the signal on); see ``_GRANIAN_MAJORS``."""
    granian = sys.modules.get("granian")
    version = str(getattr(granian, "__version__", ""))
    return version.split(".")[0] in _GRANIAN_MAJORS and _loop_dispatches(
        signal.getsignal(signal.SIGINT)
    )


def watch(app: App) -> None:
    """Put Kettle's SIGTERM handler in front of the server's, once per app, when a socket
    opens (the server's must be uvicorn's Python handler or Granian's on the loop)::

        watch(app)   # when a socket opens; the lifespan shut-down calls unwatch(app)
    """
    global _in_front
    # PERF: one dictionary lookup per connection once watched.
    if app in _watches or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return  # no handler to put off: the default ends the process at once
    loop = asyncio.get_running_loop()
    if not _loop_dispatches(previous):
        python = _PythonWatch(app, loop, previous)
        _watches[app] = python
        signal.signal(signal.SIGTERM, python.on_signal)
        return
    if not _under_granian():
        return  # another server's loop handler: nothing to hand the signal on to
    front = _LoopWatch(app, loop, _in_front if _in_front and _in_front.loop is loop else None)
    _watches[app] = _in_front = front
    loop.add_signal_handler(signal.SIGTERM, front.on_signal, signal.SIGTERM)


def unwatch(app: App) -> None:
    """Give SIGTERM back to the server (at shut-down, after the sockets are closed)."""
    current = _watches.get(app)
    if current is not None and current.closing is None:
        current.restore()


__all__ = ["GRACE", "unwatch", "watch"]
