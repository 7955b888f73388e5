"""The in-process backend: a least-recently-used dict with a size cap and expiry times.

Each worker keeps its own, so it suits one process (development, tests, a single worker)
and values that are cheap to compute again; ``redis://`` shares one cache between
workers and machines.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping

#: Entries kept by default before the least recently used ones go.
DEFAULT_MAX_ENTRIES = 10_000
_NEVER = float("inf")


class MemoryBackend:
    """Bytes by key in this process, at most ``max_entries`` of them (``memory://``)::

    backend = MemoryBackend(max_entries=500)
    backend.set("k", b"v", ttl=60)
    backend.get("k")    # b"v"
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"MemoryBackend(max_entries={max_entries}) must keep at least 1.")
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        # NOTE: `def` handlers run in a thread pool; the lock keeps the LRU order sound.
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when missing or expired."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return entry[1]

    def get_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get`` for each key, in order."""
        return [self.get(key) for key in keys]

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: until evicted)."""
        expires = _NEVER if ttl is None else time.monotonic() + ttl
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set`` for each item."""
        for key, value in items.items():
            self.set(key, value, ttl)

    def add(self, key: str, value: bytes, ttl: float | None) -> bool:
        """Store ``value`` only if ``key`` holds nothing; True when it was stored."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and entry[0] > time.monotonic():
                return False
            expires = _NEVER if ttl is None else time.monotonic() + ttl
            self._data[key] = (expires, value)
        return True

    def delete(self, key: str) -> bool:
        """Forget ``key``; True when it was there."""
        with self._lock:
            return self._data.pop(key, None) is not None

    def incr(self, key: str, delta: int, ttl: float | None) -> int:
        """Add ``delta`` to the integer under ``key`` (a missing key counts as 0 and
        gets ``ttl``); returns the new value."""
        with self._lock:
            entry = self._data.get(key)
            now = time.monotonic()
            if entry is None or entry[0] <= now:
                expires, current = (_NEVER if ttl is None else now + ttl), 0
            else:
                expires, current = entry[0], _as_int(entry[1], key)
            value = current + delta
            self._data[key] = (expires, str(value).encode())
        return value

    def clear(self, prefix: str) -> None:
        """Forget every key that starts with ``prefix``."""
        with self._lock:
            for key in [k for k in self._data if k.startswith(prefix)]:
                del self._data[key]

    # --- async twins: nothing to wait for in process ---------------------------------------
    async def aget(self, key: str) -> bytes | None:
        """``get`` for async code."""
        return self.get(key)

    async def aget_many(self, keys: Iterable[str]) -> list[bytes | None]:
        """``get_many`` for async code."""
        return self.get_many(keys)

    async def aset(self, key: str, value: bytes, ttl: float | None) -> None:
        """``set`` for async code."""
        self.set(key, value, ttl)

    async def aset_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """``set_many`` for async code."""
        self.set_many(items, ttl)

    async def aadd(self, key: str, value: bytes, ttl: float | None) -> bool:
        """``add`` for async code."""
        return self.add(key, value, ttl)

    async def adelete(self, key: str) -> bool:
        """``delete`` for async code."""
        return self.delete(key)

    async def aincr(self, key: str, delta: int, ttl: float | None) -> int:
        """``incr`` for async code."""
        return self.incr(key, delta, ttl)

    async def aclear(self, prefix: str) -> None:
        """``clear`` for async code."""
        self.clear(prefix)


def _as_int(raw: bytes, key: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"Cache key {key!r} holds a value that is not an integer; incr() only counts "
            "integers stored by set() or incr()."
        ) from None
