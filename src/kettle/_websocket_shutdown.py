"""Open WebSockets closed with 1001 (going away) as soon as the server is told to stop.

The lifespan shut-down comes too late for that: by then uvicorn has closed every
WebSocket itself, with 1012 (service restart). So once a socket is open, Kettle also
listens for SIGTERM: it puts its own handler in front of the server's, closes the open
sockets with 1001 (waiting at most ``GRACE`` seconds for the close frames to go out),
then hands the signal on to the server's handler, which stops as it always does.

That works where the server's handler is a Python signal handler that runs when called
(uvicorn's ``handle_exit``). Granian's workers register theirs on the event loop
(``loop.add_signal_handler``): the loop calls it from its own signal pipe, whatever the
Python handler does, and Granian's runtime drops the connections at once, with no close
frame. Kettle leaves such a handler alone (see docs/websockets.md, "Servers").
"""

from __future__ import annotations

import asyncio
import logging
import signal
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


class _Watch:
    """The SIGTERM handler Kettle put in front of the server's, for one app."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop, previous: _Handler) -> None:
        self.app = app
        self.loop = loop
        self.previous = previous
        self.closing: asyncio.Task[None] | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        # NOTE: a signal handler runs between two bytecodes of the main thread (the
        # loop's): it only schedules; a second SIGTERM goes straight to the server.
        if self.closing is not None or not self.app.websockets:
            self.restore()
            self.previous(signum, frame)
            return
        self.loop.call_soon_threadsafe(self._start, signum)

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
            self.previous(signum, None)

    def restore(self) -> None:
        """Give SIGTERM back to the server's handler (once)."""
        if _watches.pop(self.app, None) is not self:
            return
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) == self.on_signal:
            signal.signal(signal.SIGTERM, self.previous)


_watches: weakref.WeakKeyDictionary[App, _Watch] = weakref.WeakKeyDictionary()


def _loop_dispatches(handler: _Handler) -> bool:
    """Whether ``handler`` is an event loop's own (``loop.add_signal_handler``): the loop
    then runs the server's callback from its signal pipe, and it cannot be put off."""
    owner = getattr(handler, "__self__", None)
    return isinstance(owner, asyncio.AbstractEventLoop) or (
        getattr(handler, "__module__", "") == "asyncio.unix_events"
    )


def watch(app: App) -> None:
    """Put Kettle's SIGTERM handler in front of the server's, once per app, when the
    server's is a Python handler of the main thread (uvicorn's); else do nothing::

        watch(app)   # when a socket opens; the lifespan shut-down calls unwatch(app)
    """
    # PERF: one dictionary lookup per connection once watched.
    if app in _watches or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous) or _loop_dispatches(previous):
        return  # no handler to put off (the default ends the process at once) or Granian
    current = _Watch(app, asyncio.get_running_loop(), previous)
    _watches[app] = current
    signal.signal(signal.SIGTERM, current.on_signal)


def unwatch(app: App) -> None:
    """Give SIGTERM back to the server's handler (at shut-down, after the sockets are
    closed)."""
    current = _watches.get(app)
    if current is not None and current.closing is None:
        current.restore()


__all__ = ["GRACE", "unwatch", "watch"]
