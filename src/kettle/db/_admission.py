"""Admission of requests that run blocking code, so they never deadlock on connections.

A request's unit of work holds its connection from the first query to the commit. A
request whose ``def`` before-hook has queried the database then waits for a thread for
its ``def`` handler, still holding the connection. With every handler thread busy
waiting for a connection, and every connection held by a request waiting for a thread,
nothing moves until the pool times out.

So at most as many requests with blocking code are in flight as the blocking engine has
connections (and handler threads): each admitted request is sure to find both. The
waiting happens here, in the event loop, where it holds neither. Routes whose handler
and hooks are all ``async def`` are not limited (blocking code they hand to
``app.run_sync`` is not counted: keep database work there short). Commits run on
threads of their own (see ``Database``) because they must never queue behind handlers
that may be waiting for the very locks the commit releases.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from kettle.handlers import is_sync

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request
    from kettle.routing import Route
    from kettle.scaffold import Scaffold

_FREE: contextlib.nullcontext[None] = contextlib.nullcontext()


class Admission:
    """Lets at most ``size`` requests with blocking code run at once (per event loop)."""

    def __init__(self, app: App, size: int) -> None:
        self.app = app
        self.size = size
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._blocking_scaffolds: set[int] | None = None
        # PERF: whether a route runs blocking code is decided once per route.
        self._blocking_routes: dict[int, bool] = {}

    def __call__(self, request: Request) -> contextlib.AbstractAsyncContextManager[Any]:
        """``async with admission(request):`` waits for a slot if the route needs one."""
        slot = self.slot(request)
        return _FREE if slot is None else slot

    def slot(self, request: Request) -> asyncio.Semaphore | None:
        """The semaphore ``request`` must hold while it runs, or None (all ``async def``)."""
        route = request.route
        if route is None:
            return None
        blocking = self._blocking_routes.get(id(route))
        if blocking is None:
            blocking = self._blocking_routes[id(route)] = self._is_blocking(route)
        return self._semaphore() if blocking else None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            # A Semaphore belongs to one loop; test clients start a loop per client.
            self._slots = (loop, asyncio.Semaphore(self.size))
        return self._slots[1]

    def _is_blocking(self, route: Route) -> bool:
        if self._blocking_scaffolds is None:
            self._blocking_scaffolds = set()
            _collect(self.app, False, self._blocking_scaffolds)
        return is_sync(route.endpoint) or id(route.owner) in self._blocking_scaffolds


def _collect(scaffold: Scaffold, inherited: bool, found: set[int]) -> None:
    """Add the ids of scaffolds whose requests run a ``def`` before- or after-hook."""
    hooks = (*scaffold.before_hooks, *scaffold.after_hooks)
    blocking = inherited or any(is_sync(hook) for hook in hooks)
    if blocking:
        found.add(id(scaffold))
    for group in scaffold.groups:
        _collect(group, blocking, found)


__all__ = ["Admission"]
