"""The Redis backend: pub/sub on one connection per process, fanned out in process.

A reader task holds the process's subscribing connection and hands each message to
``Broadcast``. When Redis goes away it logs one warning, retries with a growing pause
(up to ``MAX_PAUSE``), subscribes again to every channel in use, and logs the recovery.
Redis pub/sub keeps nothing: messages published while a process was cut off are lost
to it, so clients that must not miss anything reload their state after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kettle.broadcast._backend import Deliver

log = logging.getLogger("kettle.broadcast")
UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
#: Seconds between reconnection attempts, doubling from the first to the last.
FIRST_PAUSE, MAX_PAUSE = 0.05, 2.0
#: A text payload starts with this byte, a binary one with ``_BINARY``.
_TEXT, _BINARY = b"t", b"b"


class RedisBackend:
    """Publishes with ``PUBLISH`` and hears with one ``SUBSCRIBE`` connection per process::

    broadcast = Broadcast(app, "redis://127.0.0.1:6379/0")
    """

    def __init__(self, url: str, prefix: str, *, timeout: float = 1.0) -> None:
        self.url = url
        #: What every Redis channel name starts with (``"<app>:broadcast:"``).
        self.prefix = prefix + ":"
        self.timeout = timeout
        self.channels: set[str] = set()
        self._deliver: Deliver | None = None
        self._client: redis.asyncio.Redis | None = None
        self._listener: redis.asyncio.Redis | None = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._down = False

    def start(self, deliver: Deliver) -> None:
        """Hand messages that arrive to ``deliver(channel, payload)``."""
        self._deliver = deliver

    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(
                self.url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout
            )
        return self._client

    async def publish(self, channel: str, payload: str | bytes) -> None:
        """``PUBLISH`` the payload, marked as text or binary."""
        data = _TEXT + payload.encode() if isinstance(payload, str) else _BINARY + payload
        try:
            await self._redis().publish(self.prefix + channel, data)
        except UNREACHABLE as exc:
            raise ConnectionError(
                f"Could not publish on {channel!r}: Redis at {self.url} did not answer ({exc})."
            ) from exc

    async def subscribe(self, channel: str) -> None:
        """Hear ``channel`` from now on (the reader starts with the first channel)."""
        self.channels.add(channel)
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())
        with contextlib.suppress(TimeoutError):
            # NOTE: wait for the SUBSCRIBE to be in place, so that a message published
            # right after subscribe() returns is heard; Redis may be down, so not for ever.
            async with asyncio.timeout(self.timeout):
                await self._connected.wait()
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*UNREACHABLE):  # the reader subscribes again later
                await pubsub.subscribe(self.prefix + channel)

    async def unsubscribe(self, channel: str) -> None:
        """Stop hearing ``channel``."""
        self.channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*UNREACHABLE):
                await pubsub.unsubscribe(self.prefix + channel)

    async def _read(self) -> None:
        pause = FIRST_PAUSE
        while True:
            if self._listener is None:
                # NOTE: no socket timeout here: a quiet channel is not a dead connection.
                self._listener = redis.asyncio.Redis.from_url(
                    self.url, socket_connect_timeout=self.timeout
                )
            # Any: redis-py leaves PubSub.aclose untyped.
            pubsub: Any = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*(self.prefix + c for c in self.channels or {"-"}))
                self._pubsub = pubsub
                self._connected.set()
                if self._down:
                    log.warning("Broadcast: Redis at %s is back; listening again.", self.url)
                    self._down = False
                pause = FIRST_PAUSE
                await self._listen(pubsub)
            except UNREACHABLE as exc:
                if not self._down:
                    log.warning(
                        "Broadcast: lost Redis at %s (%s); reconnecting. Messages published "
                        "meanwhile do not reach this process.",
                        self.url,
                        exc,
                    )
                    self._down = True
            finally:
                self._pubsub = None
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    async def _listen(self, pubsub: Any) -> None:
        prefix = len(self.prefix)
        deliver = self._deliver
        assert deliver is not None
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None or message["type"] != "message":
                continue
            data: bytes = message["data"]
            channel = message["channel"].decode()[prefix:]
            payload = data[1:].decode() if data[:1] == _TEXT else data[1:]
            deliver(channel, payload)

    async def aclose(self) -> None:
        """Stop the reader and close the connections."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for client in (self._client, self._listener):
            if client is not None:
                await client.aclose()
        self._client = self._listener = None
