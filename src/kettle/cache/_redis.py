"""The Redis backend: one cache for every worker and machine, through redis-py.

Each process gets its own connection pool (a pool must not cross a ``fork``), and each
event loop its own ``redis.asyncio`` pool. Sockets time out quickly, so a Redis that
stops answering costs a request a fraction of a second, not a stall.

While Redis is unreachable the cache degrades to misses: reads return nothing, writes do
nothing, one warning is logged per outage, and for ``retry_interval`` seconds after a
failure no call tries the network at all. The first call that succeeds logs the recovery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("kettle.cache")
T = TypeVar("T")
#: What "Redis is unreachable" looks like from redis-py.
UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
#: Seconds a socket may wait to connect to Redis or for an answer.
SOCKET_TIMEOUT = 0.25


class RedisClients:
    """redis-py clients for ``url``: one pool per process, one asyncio pool per loop::

    clients = RedisClients("redis://127.0.0.1:6379/0")
    clients.sync().ping()
    await clients.async_().ping()
    """

    def __init__(self, url: str, socket_timeout: float = SOCKET_TIMEOUT) -> None:
        self.url = url
        self.options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
        }
        self._pid = -1
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def sync(self) -> redis.Redis:
        """The blocking client of this process."""
        # PERF: one comparison per call; the pool is made once per process.
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._client = redis.Redis.from_url(self.url, **self.options)
                    self._pid = os.getpid()
        assert self._client is not None
        return self._client

    def async_(self) -> redis.asyncio.Redis:
        """The asyncio client of the running event loop."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = redis.asyncio.Redis.from_url(self.url, **self.options)
        return client

    async def aclose(self) -> None:
        """Close the pool of the running loop (at shutdown)."""
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class RedisBackend:
    """The cache on Redis at ``url`` (``redis://host:port/db``), degrading to misses
    while it is unreachable (see the module docstring)::

        backend = RedisBackend("redis://127.0.0.1:6379/0")
        backend.set("k", b"v", ttl=60)
    """

    def __init__(
        self, url: str, retry_interval: float = 1.0, socket_timeout: float = SOCKET_TIMEOUT
    ) -> None:
        self.clients = RedisClients(url, socket_timeout)
        self.retry_interval = retry_interval
        #: Whether the last call found Redis unreachable.
        self.down = False
        self._retry_at = 0.0

    async def aclose(self) -> None:
        """Close the asyncio pool of the running loop (``Cache.aclose``)."""
        await self.clients.aclose()

    # --- outage bookkeeping ----------------------------------------------------------------
    def _skip(self) -> bool:
        # PERF: while Redis is down, calls within retry_interval fail fast with no I/O.
        return self.down and time.monotonic() < self._retry_at

    def _failed(self, error: BaseException) -> None:
        self._retry_at = time.monotonic() + self.retry_interval
        if not self.down:
            self.down = True
            log.warning(
                "Redis at %s is unreachable (%s); the cache answers misses until it is back.",
                _safe(self.clients.url),
                error,
            )

    def _ok(self) -> None:
        if self.down:
            self.down = False
            log.warning(
                "Redis at %s is reachable again; the cache is back.", _safe(self.clients.url)
            )

    def _call(self, fn: Callable[[redis.Redis], Any], default: Any) -> Any:
        if self._skip():
            return default
        try:
            result = fn(self.clients.sync())
        except UNREACHABLE as error:
            self._failed(error)
            return default
        self._ok()
        return result

    async def _acall(
        self, fn: Callable[[redis.asyncio.Redis], Awaitable[Any]], default: Any
    ) -> Any:
        if self._skip():
            return default
        try:
            result = await fn(self.clients.async_())
        except UNREACHABLE as error:
            self._failed(error)
            return default
        self._ok()
        return result

    # --- the backend API -------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``; None when missing or Redis is unreachable."""
        return self._call(lambda r: r.get(key), None)  # type: ignore[no-any-return]

    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get`` for each key, in one round trip (MGET)."""
        keys = list(keys)
        return self._call(lambda r: r.mget(keys), [None] * len(keys))  # type: ignore[no-any-return]

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: no expiry)."""
        self._call(lambda r: r.set(key, value, px=_ms(ttl)), None)

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set`` for each item, in one round trip (a pipeline)."""
        self._call(
            lambda r: _pipeline_set(r.pipeline(transaction=False), items, ttl).execute(), None
        )

    def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        """SET NX: True when ``key`` was free and now holds ``value``; True as well while
        Redis is down (nobody to coordinate with: the caller goes ahead)."""
        return bool(self._call(lambda r: r.set(key, value, px=_ms(ttl), nx=True), True))

    def delete(self, key: str) -> bool:
        """Forget ``key``; True when it was there."""
        return bool(self._call(lambda r: r.delete(key), 0))

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        """INCRBY (a missing key counts as 0 and gets ``ttl``); ``delta`` while Redis is down."""
        return self._call(lambda r: _incr(r, key, delta, ttl), delta)  # type: ignore[no-any-return]

    def clear(self, prefix: str) -> None:
        """Delete every key that starts with ``prefix`` (SCAN, then DEL in batches)."""

        def run(r: redis.Redis) -> None:
            batch = list(r.scan_iter(match=_glob(prefix), count=500))
            for start in range(0, len(batch), 500):
                r.delete(*batch[start : start + 500])

        self._call(run, None)

    async def aget(self, key: str) -> bytes | None:
        """``get`` for async code."""
        return await self._acall(lambda r: r.get(key), None)  # type: ignore[no-any-return]

    async def aget_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get_many`` for async code."""
        keys = list(keys)
        return await self._acall(lambda r: r.mget(keys), [None] * len(keys))  # type: ignore[no-any-return]

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        """``set`` for async code."""
        await self._acall(lambda r: r.set(key, value, px=_ms(ttl)), None)

    async def aset_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set_many`` for async code."""

        async def run(r: redis.asyncio.Redis) -> None:
            await _pipeline_set(r.pipeline(transaction=False), items, ttl).execute()

        await self._acall(run, None)

    async def aadd(self, key: str, value: bytes, ttl: float | None) -> bool:
        """``add`` for async code."""
        return bool(await self._acall(lambda r: r.set(key, value, px=_ms(ttl), nx=True), True))

    async def adelete(self, key: str) -> bool:
        """``delete`` for async code."""
        return bool(await self._acall(lambda r: r.delete(key), 0))

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        """``incr`` for async code."""

        async def run(r: redis.asyncio.Redis) -> int:
            value = int(await r.incrby(key, delta))
            if value == delta and ttl is not None:
                await r.pexpire(key, _ms(ttl) or 1)
            return value

        return await self._acall(run, delta)  # type: ignore[no-any-return]

    async def aclear(self, prefix: str) -> None:
        """``clear`` for async code."""

        async def run(r: redis.asyncio.Redis) -> None:
            batch = [k async for k in r.scan_iter(match=_glob(prefix), count=500)]
            for start in range(0, len(batch), 500):
                await r.delete(*batch[start : start + 500])

        await self._acall(run, None)


def _ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, int(ttl * 1000))


def _pipeline_set(pipe: Any, items: Mapping[str, bytes], ttl: float | None) -> Any:
    for key, value in items.items():
        pipe.set(key, value, px=_ms(ttl))
    return pipe


def _incr(r: redis.Redis, key: str, delta: int, ttl: float | None) -> int:
    value = int(r.incrby(key, delta))  # type: ignore[arg-type]
    if value == delta and ttl is not None:
        # NOTE: the key was just created (or came back to delta): give it the TTL.
        r.pexpire(key, _ms(ttl) or 1)
    return value


def _glob(prefix: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"


def _safe(url: str) -> str:
    # Never log a password: redis://:secret@host -> redis://host
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.rpartition("@")[2]
