"""``get_or_set`` computes a missing key once: across threads, and across processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time

from cachehelpers import REDIS_URL, own_prefix

from kettle.cache import Cache


def test_threads_compute_once(cache: Cache) -> None:
    calls: list[int] = []
    results: list[str] = []
    start = threading.Barrier(8)

    def slow() -> str:
        calls.append(1)
        time.sleep(0.3)
        return "value"

    def worker() -> None:
        start.wait()
        results.append(cache.get_or_set("hot", slow, ttl=60))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["value"] * 8
    assert len(calls) == 1


def test_tasks_compute_once(cache: Cache) -> None:
    calls: list[int] = []

    async def slow() -> str:
        calls.append(1)
        await asyncio.sleep(0.3)
        return "value"

    async def run() -> list[str]:
        found = await asyncio.gather(*(cache.aget_or_set("hot", slow, ttl=60) for _ in range(8)))
        await cache.aclose()
        return found

    assert asyncio.run(run()) == ["value"] * 8
    assert len(calls) == 1


def test_failed_computation_reaches_every_waiter_and_is_not_stored(cache: Cache) -> None:
    async def boom() -> str:
        await asyncio.sleep(0.1)
        raise RuntimeError("upstream down")

    async def run() -> list[object]:
        found = await asyncio.gather(
            *(cache.aget_or_set("bad", boom) for _ in range(3)), return_exceptions=True
        )
        await cache.aclose()
        return found

    outcomes = asyncio.run(run())
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert cache.get("bad") is None
    assert cache.get_or_set("bad", lambda: "recovered") == "recovered"


def _compute_in_process(prefix: str, go: threading.Barrier) -> None:
    cache = Cache(url=REDIS_URL, prefix=prefix)

    def slow() -> str:
        cache.incr("computations")
        time.sleep(0.5)
        return "shared"

    go.wait()
    assert cache.get_or_set("hot", slow, ttl=60) == "shared"


def test_processes_compute_once_on_redis() -> None:
    prefix = own_prefix()
    context = multiprocessing.get_context("spawn")
    go = context.Barrier(3)
    workers = [context.Process(target=_compute_in_process, args=(prefix, go)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    cache = Cache(url=REDIS_URL, prefix=prefix)
    try:
        assert [w.exitcode for w in workers] == [0, 0, 0]
        assert cache.get("computations") == 1
        assert cache.get("hot") == "shared"
    finally:
        cache.clear()
