"""``Broadcast``: publish on a channel, every subscriber of every worker hears it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from kettle.broadcast._backend import Backend, backend_from_url

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.websockets import WebSocket


class SubscriberTooSlow(Exception):
    """A subscription's queue overflowed: it missed messages (see ``max_queue``)."""


class Subscription:
    """The messages of one channel, in order, as ``str`` (text) or ``bytes``; made by
    ``Broadcast.subscribe`` and used in ``async with``::

        async with broadcast.subscribe("prices") as prices:
            async for message in prices:
                ...
    """

    def __init__(self, broadcast: Broadcast, channel: str, max_queue: int) -> None:
        self.broadcast = broadcast
        #: The channel it hears.
        self.channel = channel
        self._queue: asyncio.Queue[str | bytes] = asyncio.Queue(max_queue)
        self._overflowed = False

    def _put(self, payload: str | bytes) -> None:
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self._overflowed = True

    async def get(self) -> str | bytes:
        """The next message (waits for one)."""
        if self._overflowed:
            raise SubscriberTooSlow(
                f"The subscription to {self.channel!r} fell more than "
                f"{self._queue.maxsize} messages behind and missed some; read faster or "
                "subscribe with a larger max_queue."
            )
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str | bytes]:
        while True:
            yield await self.get()

    async def __aenter__(self) -> Self:
        await self.broadcast._listen(self.channel, self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.broadcast._leave(self.channel, self)


class Broadcast:
    """Channels of messages shared by every worker of the app (the ``broadcast`` battery).

    The URL is ``url``, else the ``broadcast_url`` setting / ``KETTLE_BROADCAST_URL``,
    else ``memory://`` (one process). With ``redis://host:6379/0`` a message published in
    one worker reaches the subscribers and sockets of all::

        broadcast = Broadcast(app)

        @app.websocket("/rooms/<int:room>")
        async def room(ws: WebSocket, room: int):
            async with broadcast.join(f"room:{room}", ws):
                async for msg in ws.iter(Chat):
                    await broadcast.publish(f"room:{room}", {"text": msg.text})
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | None = None,
        *,
        backend: Backend | None = None,
        prefix: str | None = None,
    ) -> None:
        self.url = url or _setting(app)
        name = app.name if app is not None else "kettle"
        #: What the channels' names start with on a shared broker (``<app>:broadcast``).
        self.prefix = prefix if prefix is not None else f"{name}:broadcast"
        self.backend = backend if backend is not None else backend_from_url(self.url, self.prefix)
        self.backend.start(self._deliver)
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._sockets: dict[str, set[WebSocket]] = {}
        if app is not None:
            app.state.broadcast = self
            app.on_shutdown(self.aclose)

    # --- publishing ------------------------------------------------------------------------
    async def publish(self, channel: str, message: Any) -> None:
        """Send ``message`` to every subscriber of ``channel``: ``str`` goes as text,
        ``bytes`` as binary, anything else (dicts, Structs...) as JSON text::

            await broadcast.publish("room:1", {"from": "ann", "text": "hi"})
        """
        await self.backend.publish(channel, _payload(message))

    # --- listening -------------------------------------------------------------------------
    def subscribe(self, channel: str, *, max_queue: int = 1000) -> Subscription:
        """A subscription to ``channel``, for ``async with``; it holds up to ``max_queue``
        unread messages (then ``SubscriberTooSlow``)::

            async with broadcast.subscribe("prices") as prices:
                first = await prices.get()
        """
        return Subscription(self, channel, max_queue)

    async def add(self, channel: str, ws: WebSocket) -> None:
        """Send every message of ``channel`` to ``ws`` (accepting it if needed), until
        ``discard`` or the socket closes. A socket whose send buffer is full is closed
        (1008), not waited for: one slow client never holds the others back."""
        await ws.accept()
        await self._listen(channel, ws)

    async def discard(self, channel: str, ws: WebSocket) -> None:
        """Stop sending ``channel`` to ``ws``."""
        await self._leave(channel, ws)

    @contextlib.asynccontextmanager
    async def join(self, channel: str, ws: WebSocket) -> AsyncIterator[None]:
        """``add`` for the block, ``discard`` after it::

        async with broadcast.join("room:1", ws):
            async for text in ws.iter(str):
                await broadcast.publish("room:1", text)
        """
        await self.add(channel, ws)
        try:
            yield
        finally:
            await self.discard(channel, ws)

    def members(self, channel: str) -> int:
        """How many sockets and subscriptions of this process hear ``channel``."""
        return len(self._sockets.get(channel, ())) + len(self._subscriptions.get(channel, ()))

    async def _listen(self, channel: str, listener: Subscription | WebSocket) -> None:
        first = not self.members(channel)
        if isinstance(listener, Subscription):
            self._subscriptions.setdefault(channel, set()).add(listener)
        else:
            self._sockets.setdefault(channel, set()).add(listener)
        if first:
            await self.backend.subscribe(channel)

    async def _leave(self, channel: str, listener: Subscription | WebSocket) -> None:
        for table in (self._subscriptions, self._sockets):
            members: Any = table.get(channel)
            if members is not None:
                members.discard(listener)
                if not members:
                    del table[channel]
        if not self.members(channel):
            await self.backend.unsubscribe(channel)

    def _deliver(self, channel: str, payload: str | bytes) -> None:
        # PERF: called once per message and process; each socket only queues it (its own
        # writer task sends), so the fan-out to N sockets never waits on the network.
        for subscription in self._subscriptions.get(channel, ()):
            subscription._put(payload)
        sockets = self._sockets.get(channel)
        if sockets:
            gone = [ws for ws in sockets if not ws.send_nowait(payload)]
            for ws in gone:
                sockets.discard(ws)

    async def aclose(self) -> None:
        """Close the broker connections (at shut-down)."""
        await self.backend.aclose()


def _payload(message: Any) -> str | bytes:
    if isinstance(message, str | bytes):
        return message
    import msgspec

    return msgspec.json.encode(message).decode()


def _setting(app: App | None) -> str:
    # NOTE: a Settings subclass may declare ``broadcast_url``; else the variable is read.
    setting = getattr(app.settings, "broadcast_url", "") if app is not None else ""
    return setting or os.environ.get("KETTLE_BROADCAST_URL", "") or "memory://"
