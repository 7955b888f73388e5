"""The cache API, ``def`` and ``async def``, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest
import redis
from cachehelpers import REDIS_URL, own_prefix
from redis.exceptions import ResponseError

from kettle import App
from kettle.cache import Cache, backend_from_url
from kettle.exceptions import ConfigurationError


def test_set_get_delete(cache: Cache) -> None:
    assert cache.get("missing") is None
    assert cache.get("missing", "fallback") == "fallback"
    value = {"ids": [1, 2], "when": dt.date(2026, 1, 2), "flag": True}
    cache.set("k", value)
    assert cache.get("k") == value
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert cache.get("k") is None


def test_async_twins(cache: Cache) -> None:
    async def run() -> None:
        await cache.aset("a", [1, 2], ttl=60)
        assert await cache.aget("a") == [1, 2]
        assert await cache.aadd("a", "other") is False
        assert await cache.aadd("b", "new") is True
        await cache.aset_many({"c": 3, "d": "four"})
        assert await cache.aget_many(["a", "c", "d", "zz"]) == {"a": [1, 2], "c": 3, "d": "four"}
        assert await cache.aincr("n", 5) == 5
        assert await cache.aincr("n", -2) == 3
        assert await cache.adelete("b") is True
        await cache.aclear()
        assert await cache.aget("a") is None
        await cache.aclose()  # this loop ends here

    asyncio.run(run())


def test_ttl_expiry(cache: Cache) -> None:
    cache.set("short", "v", ttl=0.2)
    cache.set("long", "v", ttl=60)
    cache.set("forever", "v", ttl=None)
    assert cache.get("short") == "v"
    time.sleep(0.4)
    assert cache.get("short") is None
    assert cache.get("long") == "v"
    assert cache.get("forever") == "v"


def test_add_only_when_free(cache: Cache) -> None:
    assert cache.add("once", 1) is True
    assert cache.add("once", 2) is False
    assert cache.get("once") == 1


def test_incr_counts_atomically_and_keeps_ints(cache: Cache) -> None:
    assert cache.incr("hits") == 1
    assert cache.incr("hits", 10) == 11
    assert cache.get("hits") == 11
    cache.set("bool", True)  # a bool stays a bool, not the int 1
    assert cache.get("bool") is True
    cache.set("text", "abc")
    with pytest.raises((ValueError, ResponseError)):  # Redis: "not an integer"
        cache.incr("text")


def test_versions_keep_entries_apart(cache: Cache) -> None:
    cache.set("front", "v1 page")
    cache.set("front", "v2 page", version=2)
    assert cache.get("front") == "v1 page"
    assert cache.get("front", version=2) == "v2 page"
    bumped = Cache(backend=cache.backend, prefix=cache.prefix, version=2)
    assert bumped.get("front") == "v2 page"
    assert cache.make_key("front", version=7) == f"{cache.prefix}:7:front"


def test_prefix_keeps_apps_apart(cache: Cache) -> None:
    other = Cache(backend=cache.backend, prefix=cache.prefix + "-other")
    cache.set("k", "mine")
    assert other.get("k") is None
    other.clear()
    assert cache.get("k") == "mine"


def test_many(cache: Cache) -> None:
    cache.set_many({"a": 1, "b": [2]}, ttl=60)
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": [2]}


def test_get_or_set_computes_once_then_reads(cache: Cache) -> None:
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "made"

    assert cache.get_or_set("g", compute, ttl=60) == "made"
    assert cache.get_or_set("g", compute, ttl=60) == "made"
    assert len(calls) == 1

    async def acompute() -> str:
        calls.append(2)
        return "amade"

    async def run() -> None:
        assert await cache.aget_or_set("ag", acompute, ttl=60) == "amade"
        assert await cache.aget_or_set("ag", acompute, ttl=60) == "amade"
        await cache.aclose()

    asyncio.run(run())
    assert calls == [1, 2]


def test_stale_value_served_while_one_caller_recomputes(cache: Cache) -> None:
    cache.get_or_set("s", lambda: "old", ttl=0.1, stale=60)
    time.sleep(0.2)
    # Another worker holds the lock: this one gets the stale value at once.
    cache.backend.add(cache.make_key("s") + ":lock", b"1", 5)
    assert cache.get_or_set("s", lambda: "new", ttl=60, stale=60) == "old"
    cache.backend.delete(cache.make_key("s") + ":lock")
    assert cache.get_or_set("s", lambda: "new", ttl=60, stale=60) == "new"
    assert cache.get("s") == "new"


def test_memory_lru_cap() -> None:
    cache = Cache(url="memory://?max_entries=3", prefix="p")
    for i in range(3):
        cache.set(f"k{i}", i)
    cache.get("k0")  # recently used: kept
    cache.set("k3", 3)
    assert cache.get_many(["k0", "k1", "k2", "k3"]) == {"k0": 0, "k2": 2, "k3": 3}


def test_urls() -> None:
    with pytest.raises(ConfigurationError, match="memory:// or redis://"):
        backend_from_url("memcached://x")
    with pytest.raises(ConfigurationError, match="max_entries"):
        backend_from_url("memory://?max_entries=lots")


def test_default_prefix_is_the_apps_and_clear_stays_inside_it(tmp_path: Path) -> None:
    name = own_prefix()
    cache = Cache(App(name=name, root=tmp_path), REDIS_URL)
    assert cache.make_key("k") == f"{name}:cache:1:k"
    direct = redis.Redis.from_url(REDIS_URL)
    direct.set(f"{name}:session:s:abc", b"a session")
    try:
        cache.set("k", 1)
        cache.clear()
        assert cache.get("k") is None
        assert direct.get(f"{name}:session:s:abc") == b"a session"
    finally:
        direct.delete(f"{name}:session:s:abc")
