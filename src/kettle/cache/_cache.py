"""``Cache``: one API for ``def`` and ``async def`` code over an in-process or Redis backend.

::

    cache = Cache(app)                          # KETTLE_CACHE_URL, default memory://
    cache.set("greeting", "hello", ttl=60)
    await cache.aget("greeting")                # "hello"

Keys are namespaced ``<prefix>:<version>:<key>`` (the prefix is ``<app name>:cache`` by
default): the prefix keeps apps sharing one Redis apart, and bumping ``version`` (per
call or for the whole cache) retires every old entry at once. Values are pickled (any
Python value; only your app writes them, so never point two apps you do not both trust
at one Redis database); integers are stored as digits so that ``incr`` counts them in
Redis itself.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import pickle
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from kettle.cache._memory import DEFAULT_MAX_ENTRIES, MemoryBackend
from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.app import App

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
#: ``ttl=FOREVER`` stores without expiry.
FOREVER: float | None = None
_DEFAULT: Any = object()
#: How often a worker waiting for another's computation looks for the value.
_POLL = 0.02


class Backend(Protocol):
    """Where the bytes go; ``MemoryBackend`` and ``RedisBackend`` implement it, each
    method with an async twin named with an ``a`` in front (``aget``)::

        class MyBackend:
            def get(self, key): ...
            async def aget(self, key): ...
    """

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``; None when missing, expired or unreachable."""
        ...

    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get`` for each key, in order."""
        ...

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: no expiry)."""
        ...

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set`` for each item."""
        ...

    def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        """Store ``value`` only if ``key`` is free; True when stored (``get_or_set``'s
        lock: a backend that cannot coordinate answers True)."""
        ...

    def delete(self, key: str) -> bool:
        """Forget ``key``; True when it was there."""
        ...

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        """Add ``delta`` to the integer under ``key`` (missing: 0, then ``ttl``)."""
        ...

    def clear(self, prefix: str) -> None:
        """Forget every key that starts with ``prefix``."""
        ...

    async def aget(self, key: str) -> bytes | None:
        """``get`` for async code."""
        ...

    async def aget_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get_many`` for async code."""
        ...

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        """``set`` for async code."""
        ...

    async def aset_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set_many`` for async code."""
        ...

    async def aadd(self, key: str, value: bytes, ttl: float | None) -> bool:
        """``add`` for async code."""
        ...

    async def adelete(self, key: str) -> bool:
        """``delete`` for async code."""
        ...

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        """``incr`` for async code."""
        ...

    async def aclear(self, prefix: str) -> None:
        """``clear`` for async code."""
        ...


@dataclass(frozen=True, slots=True)
class _Stale:
    """What ``get_or_set(stale=...)`` stores: the value and when it stops being fresh."""

    value: Any
    fresh_until: float


def backend_from_url(url: str) -> Backend:
    """The backend for ``url``: ``memory://`` (``?max_entries=N``) or ``redis://...``::

    backend_from_url("memory://?max_entries=500")
    """
    parts = urlsplit(url)
    if parts.scheme == "memory":
        query = parse_qs(parts.query)
        try:
            size = int(query.get("max_entries", [DEFAULT_MAX_ENTRIES])[0])
        except ValueError:
            raise ConfigurationError(
                f"The cache URL {url!r} has a max_entries that is not a whole number."
            ) from None
        return MemoryBackend(size)
    if parts.scheme in ("redis", "rediss", "unix"):
        try:
            from kettle.cache._redis import RedisBackend
        except ImportError:
            raise ConfigurationError(
                f"The cache URL {url!r} needs redis-py: pip install 'kettle[redis]'."
            ) from None
        return RedisBackend(url)
    raise ConfigurationError(
        f"The cache URL {url!r} names no known backend: use memory:// or "
        "redis://host:6379/0 (KETTLE_CACHE_URL)."
    )


def dumps(value: Any) -> bytes:
    """The bytes stored for ``value``: digits for an int (so Redis can count it), else a
    pickle::

        dumps(3)   # b"3"
    """
    # PERF: exact type check; bool is an int subclass and must stay a pickle.
    if type(value) is int:
        return str(value).encode()
    return pickle.dumps(value, protocol=5)


def loads(raw: bytes) -> Any:
    """The value ``dumps`` stored as ``raw``::

    loads(b"3")   # 3
    """
    # Every pickle of protocol 2+ starts with b"\x80"; digits never do.
    if raw[:1] == b"\x80":
        return pickle.loads(raw)
    return int(raw)


class Cache:
    """The cache battery (see the module docstring); ``app.state.cache``.

    The URL is ``url``, else the ``cache_url`` setting / ``KETTLE_CACHE_URL``, else
    ``memory://``. ``ttl`` is the default lifetime in seconds (None: no expiry)::

        cache = Cache(app, "redis://127.0.0.1:6379/0", prefix="news", ttl=600)
    """

    def __init__(
        self,
        app: App | None = None,
        url: str | None = None,
        *,
        backend: Backend | None = None,
        prefix: str | None = None,
        ttl: float | None = 300,
        version: int = 1,
        lock_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.url = url or _setting(app)
        self.backend: Backend = backend if backend is not None else backend_from_url(self.url)
        # NOTE: "<app>:cache", not "<app>": clear() must never reach the app's other keys
        # in the same Redis (its sessions are "<app>:session:...").
        default = f"{app.name if app is not None else 'kettle'}:cache"
        #: What every key starts with (``<app name>:cache`` by default).
        self.prefix = prefix if prefix is not None else default
        self.default_ttl = ttl
        self.version = version
        #: How long one worker may compute a ``get_or_set`` value before others give up
        #: waiting and compute it too.
        self.lock_timeout = lock_timeout
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()
        self._aflights: dict[tuple[int, str], asyncio.Future[Any]] = {}
        if app is not None:
            app.state.cache = self
            from kettle.cache._fragments import install

            app.on_startup(lambda: install(app, self))
            app.on_shutdown(self.aclose)

    def make_key(self, key: str, version: int | None = None) -> str:
        """The backend key of ``key``::

        cache.make_key("front")   # "app:cache:1:front"
        """
        return f"{self.prefix}:{self.version if version is None else version}:{key}"

    def _ttl(self, ttl: Any) -> float | None:
        return self.default_ttl if ttl is _DEFAULT else ttl

    # --- def code ------------------------------------------------------------------------
    def get(self, key: str, default: Any = None, *, version: int | None = None) -> Any:
        """The value under ``key``, else ``default``::

        cache.get("front", [])
        """
        raw = self.backend.get(self.make_key(key, version))
        return default if raw is None else _unwrap(loads(raw))

    def set(self, key: str, value: Any, ttl: Any = _DEFAULT, *, version: int | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (default: the cache's; None: no expiry)::

        cache.set("front", ids, ttl=30)
        """
        self.backend.set(self.make_key(key, version), dumps(value), self._ttl(ttl))

    def add(self, key: str, value: Any, ttl: Any = _DEFAULT, *, version: int | None = None) -> bool:
        """Store ``value`` only if ``key`` holds nothing; True when stored::

        if cache.add("welcome-mail:42", True, ttl=3600): send_welcome()
        """
        return self.backend.add(self.make_key(key, version), dumps(value), self._ttl(ttl))

    def delete(self, key: str, *, version: int | None = None) -> bool:
        """Forget ``key``; True when it was there::

        cache.delete("front")
        """
        return self.backend.delete(self.make_key(key, version))

    def incr(
        self, key: str, delta: int = 1, ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> int:
        """Add ``delta`` to a counter, atomically across workers; a missing key starts at
        0 and lives ``ttl`` seconds. Returns the new value::

            cache.incr("views:42")
        """
        return self.backend.incr(self.make_key(key, version), delta, self._ttl(ttl))

    def get_many(self, keys: Iterable[str], *, version: int | None = None) -> dict[str, Any]:
        """The keys that hold a value, with it, in one round trip::

        cache.get_many(["a", "b"])   # {"a": 1} when only "a" is there
        """
        keys = list(keys)
        raws = self.backend.get_many([self.make_key(k, version) for k in keys])
        return {k: _unwrap(loads(r)) for k, r in zip(keys, raws, strict=True) if r is not None}

    def set_many(
        self, items: Mapping[str, Any], ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> None:
        """Store several values, in one round trip::

        cache.set_many({"a": 1, "b": 2}, ttl=60)
        """
        data = {self.make_key(k, version): dumps(v) for k, v in items.items()}
        self.backend.set_many(data, self._ttl(ttl))

    def clear(self) -> None:
        """Forget every key of this cache's prefix (all versions)::

        cache.clear()
        """
        self.backend.clear(self.prefix + ":")

    def get_or_set(
        self,
        key: str,
        compute: Callable[[], T],
        ttl: Any = _DEFAULT,
        *,
        stale: float = 0,
        version: int | None = None,
    ) -> T:
        """The value under ``key``; when missing, ``compute()`` makes it and it is stored.

        Only one caller computes a missing key at a time: one per process (threads wait
        for it) and one across workers (a short lock in the backend; the others poll
        for the value). With ``stale=s`` a value is kept ``s`` seconds past its ``ttl``
        and served, stale, while one caller computes the new one::

            front = cache.get_or_set("front", load_front_page, ttl=30, stale=60)
        """
        full = self.make_key(key, version)
        ttl = self._ttl(ttl)
        found = self._read(self.backend.get(full))
        if found is not None and found[1]:
            return found[0]  # type: ignore[no-any-return]
        with self._flights_lock:
            flight = self._flights.get(full)
            leader = flight is None
            if flight is None:
                flight = self._flights[full] = _Flight()
        if not leader:
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            return flight.wait()  # type: ignore[no-any-return]
        try:
            value = self._compute_once(full, compute, ttl, stale, found)
        except BaseException as error:
            flight.fail(error)
            raise
        finally:
            with self._flights_lock:
                del self._flights[full]
        flight.done(value)
        return value

    def _compute_once(
        self, full: str, compute: Callable[[], T], ttl: float | None, stale: float, found: Any
    ) -> T:
        lock = full + ":lock"
        deadline = time.monotonic() + self.lock_timeout
        while not self.backend.add(lock, b"1", self.lock_timeout):
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                break  # the holder died or is slow: compute it here too
            time.sleep(_POLL)
            found = self._read(self.backend.get(full))
            if found is not None and found[1]:
                return found[0]  # type: ignore[no-any-return]
        try:
            value = compute()
            self.backend.set(full, _pack(value, ttl, stale), _hard_ttl(ttl, stale))
        finally:
            self.backend.delete(lock)
        return value

    # --- async def code ----------------------------------------------------------------------
    async def aget(self, key: str, default: Any = None, *, version: int | None = None) -> Any:
        """``get()`` for async code::

        await cache.aget("front", [])
        """
        raw = await self.backend.aget(self.make_key(key, version))
        return default if raw is None else _unwrap(loads(raw))

    async def aset(
        self, key: str, value: Any, ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> None:
        """``set()`` for async code::

        await cache.aset("front", ids, ttl=30)
        """
        await self.backend.aset(self.make_key(key, version), dumps(value), self._ttl(ttl))

    async def aadd(
        self, key: str, value: Any, ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> bool:
        """``add()`` for async code::

        await cache.aadd("once", True)
        """
        return await self.backend.aadd(self.make_key(key, version), dumps(value), self._ttl(ttl))

    async def adelete(self, key: str, *, version: int | None = None) -> bool:
        """``delete()`` for async code::

        await cache.adelete("front")
        """
        return await self.backend.adelete(self.make_key(key, version))

    async def aincr(
        self, key: str, delta: int = 1, ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> int:
        """``incr()`` for async code::

        await cache.aincr("views:42")
        """
        return await self.backend.aincr(self.make_key(key, version), delta, self._ttl(ttl))

    async def aget_many(self, keys: Iterable[str], *, version: int | None = None) -> dict[str, Any]:
        """``get_many()`` for async code::

        await cache.aget_many(["a", "b"])
        """
        keys = list(keys)
        raws = await self.backend.aget_many([self.make_key(k, version) for k in keys])
        return {k: _unwrap(loads(r)) for k, r in zip(keys, raws, strict=True) if r is not None}

    async def aset_many(
        self, items: Mapping[str, Any], ttl: Any = _DEFAULT, *, version: int | None = None
    ) -> None:
        """``set_many()`` for async code::

        await cache.aset_many({"a": 1}, ttl=60)
        """
        data = {self.make_key(k, version): dumps(v) for k, v in items.items()}
        await self.backend.aset_many(data, self._ttl(ttl))

    async def aclear(self) -> None:
        """``clear()`` for async code::

        await cache.aclear()
        """
        await self.backend.aclear(self.prefix + ":")

    async def aget_or_set(
        self,
        key: str,
        compute: Callable[[], Awaitable[T] | T],
        ttl: Any = _DEFAULT,
        *,
        stale: float = 0,
        version: int | None = None,
    ) -> T:
        """``get_or_set()`` for async code; ``compute`` may be async::

        front = await cache.aget_or_set("front", load_front_page, ttl=30, stale=60)
        """
        full = self.make_key(key, version)
        ttl = self._ttl(ttl)
        found = self._read(await self.backend.aget(full))
        if found is not None and found[1]:
            return found[0]  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        slot = (id(loop), full)
        flight = self._aflights.get(slot)
        if flight is not None:
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            return await asyncio.shield(flight)
        flight = self._aflights[slot] = loop.create_future()
        try:
            value = await self._acompute_once(full, compute, ttl, stale, found)
        except BaseException as error:
            flight.set_exception(error)
            flight.exception()  # NOTE: retrieved, so an unawaited failure logs nothing
            raise
        else:
            flight.set_result(value)
        finally:
            del self._aflights[slot]
        return value

    async def _acompute_once(
        self,
        full: str,
        compute: Callable[[], Awaitable[T] | T],
        ttl: float | None,
        stale: float,
        found: Any,
    ) -> T:
        lock = full + ":lock"
        deadline = time.monotonic() + self.lock_timeout
        while not await self.backend.aadd(lock, b"1", self.lock_timeout):
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(_POLL)
            found = self._read(await self.backend.aget(full))
            if found is not None and found[1]:
                return found[0]  # type: ignore[no-any-return]
        try:
            value = compute()
            if inspect.isawaitable(value):
                value = await value
            await self.backend.aset(full, _pack(value, ttl, stale), _hard_ttl(ttl, stale))
        finally:
            await self.backend.adelete(lock)
        return value

    async def aclose(self) -> None:
        """Close the backend's connections of the running event loop (the app does it at
        shut-down)::

            await cache.aclose()
        """
        close = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()

    # --- pieces ------------------------------------------------------------------------------
    @staticmethod
    def _read(raw: bytes | None) -> tuple[Any, bool] | None:
        """(value, fresh) of a stored entry, None when there is none."""
        if raw is None:
            return None
        value = loads(raw)
        if type(value) is _Stale:
            return value.value, value.fresh_until > time.time()
        return value, True

    def page(self, ttl: float, *, vary: Iterable[str] = ()) -> Callable[[F], F]:
        """``cache_page(self, ttl, vary=...)``: a handler decorator (see ``cache_page``)::

        @app.get("/")
        @cache.page(30, vary=["Accept-Language"])
        def front(): ...
        """
        from kettle.cache._page import cache_page

        return cache_page(self, ttl, vary=vary)


class _Flight:
    """One computation in this process that other threads wait for."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def done(self, value: Any) -> None:
        self._value = value
        self._event.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._event.set()

    def wait(self) -> Any:
        self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


def _unwrap(value: Any) -> Any:
    return value.value if type(value) is _Stale else value


def _pack(value: Any, ttl: float | None, stale: float) -> bytes:
    if not stale or ttl is None:
        return dumps(value)
    return dumps(_Stale(value, time.time() + ttl))


def _hard_ttl(ttl: float | None, stale: float) -> float | None:
    return None if ttl is None else ttl + stale


def _setting(app: App | None) -> str:
    # NOTE: a Settings subclass may declare ``cache_url``; else the variable is read.
    setting = getattr(app.settings, "cache_url", "") if app is not None else ""
    return setting or os.environ.get("KETTLE_CACHE_URL", "") or "memory://"
