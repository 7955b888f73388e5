"""kettle.cache and server-side sessions (issue #16): what Kettle's layers cost.

Run from the repository root (Redis on 6379)::

    .venv/bin/python bench/cache.py                 # 30 blocks of 500 operations each
    .venv/bin/python bench/cache.py --ops 2000 --rounds 10

Measured in one process, one run, the contenders **interleaved** (block A, block B,
block A, ...; the best block of each is kept: many short blocks, so that a busy
neighbour on the machine weighs on both alike and the best block of each is a quiet one):

- **cache get/set**: ``Cache.get``/``Cache.set`` on Redis against the same calls on a
  ``redis.Redis`` client (same pool and timeouts) used directly; a small dict value,
  pickled on both sides. Wall time per operation, and this process's CPU time (the
  rows marked CPU: the layer's own cost, which a loaded machine disturbs less).
  Target: Kettle within 1.15x of redis-py. Async: ``aget``/``aset`` against
  ``redis.asyncio`` directly. In-process (``memory://``) for reference.
- **session load/save**: one ``load`` and one ``save`` of a signed-in session (user id,
  password hash, CSRF secret, a flash) on the Redis store, the database store (SQLite
  in a temporary folder; ``--database-url`` for another) and the signed cookie.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
import redis.asyncio

from kettle.cache import Cache, RedisBackend

REDIS = "redis://127.0.0.1:6379/0"
VALUE = {"ids": list(range(20)), "title": "Kettle 1.0 is out", "score": 42.5}
SESSION = {
    "_auth_user_id": 42,
    "_auth_user_hash": "9f" * 32,
    "_csrf_secret": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
    "_flashes": [["success", "Saved."]],
}


def best(blocks: list[float], ops: int) -> float:
    """Microseconds per operation of the fastest block."""
    return min(blocks) / ops * 1e6


def timed(fn: Callable[[], object], ops: int) -> float:
    started = time.perf_counter()
    for _ in range(ops):
        fn()
    return time.perf_counter() - started


def cpu_timed(fn: Callable[[], object], ops: int) -> float:
    """This process's CPU time (the layer's own cost; waiting for Redis is not counted)."""
    started = time.process_time()
    for _ in range(ops):
        fn()
    return time.process_time() - started


async def atimed(fn: Callable[[], Awaitable[object]], ops: int, cpu: bool = False) -> float:
    clock = time.process_time if cpu else time.perf_counter
    started = clock()
    for _ in range(ops):
        await fn()
    return clock() - started


def cache_rows(ops: int, rounds: int) -> list[tuple[str, float, float]]:
    prefix = f"bench-cache-{uuid.uuid4().hex[:6]}"
    # NOTE: a timeout longer than the default 0.25 s on both sides: on a loaded machine a
    # slow answer would otherwise turn the cache's blocks into fast misses (an "outage").
    cache = Cache(backend=RedisBackend(REDIS, socket_timeout=2.0), prefix=prefix)
    direct = redis.Redis.from_url(REDIS, socket_timeout=2.0, socket_connect_timeout=2.0)
    key = cache.make_key("k")
    payload = pickle.dumps(VALUE, protocol=5)
    direct.set(key, payload)
    blocks: dict[str, list[float]] = {}
    contenders: dict[str, Callable[[], object]] = {
        "kget": lambda: cache.get("k"),
        "rget": lambda: pickle.loads(direct.get(key)),  # type: ignore[arg-type]
        "kset": lambda: cache.set("k", VALUE, ttl=300),
        "rset": lambda: direct.set(key, pickle.dumps(VALUE, protocol=5), px=300_000),
    }
    for _ in range(rounds):
        for name, fn in contenders.items():
            blocks.setdefault(name, []).append(timed(fn, ops))
            blocks.setdefault(name + "-cpu", []).append(cpu_timed(fn, ops))

    async def async_blocks() -> dict[str, list[float]]:
        client = redis.asyncio.Redis.from_url(REDIS, socket_timeout=2.0)
        found: dict[str, list[float]] = {}

        async def rget() -> object:
            return pickle.loads(await client.get(key))

        contenders: dict[str, Callable[[], Awaitable[object]]] = {
            "kaget": lambda: cache.aget("k"),
            "raget": rget,
            "kaset": lambda: cache.aset("k", VALUE, ttl=300),
            "raset": lambda: client.set(key, pickle.dumps(VALUE, protocol=5), px=300_000),
        }
        for _ in range(rounds):
            for name, fn in contenders.items():
                found.setdefault(name, []).append(await atimed(fn, ops))
                found.setdefault(name + "-cpu", []).append(await atimed(fn, ops, cpu=True))
        await client.aclose()
        await cache.aclose()
        return found

    blocks.update(asyncio.run(async_blocks()))
    cache.clear()
    memory = Cache(prefix="m")
    memory.set("k", VALUE)
    mget = min(timed(lambda: memory.get("k"), ops) for _ in range(rounds))
    mset = min(timed(lambda: memory.set("k", VALUE), ops) for _ in range(rounds))
    return [
        ("get (def)", best(blocks["kget"], ops), best(blocks["rget"], ops)),
        ("set (def)", best(blocks["kset"], ops), best(blocks["rset"], ops)),
        ("get (def), CPU", best(blocks["kget-cpu"], ops), best(blocks["rget-cpu"], ops)),
        ("set (def), CPU", best(blocks["kset-cpu"], ops), best(blocks["rset-cpu"], ops)),
        ("aget (async)", best(blocks["kaget"], ops), best(blocks["raget"], ops)),
        ("aset (async)", best(blocks["kaset"], ops), best(blocks["raset"], ops)),
        ("aget (async), CPU", best(blocks["kaget-cpu"], ops), best(blocks["raget-cpu"], ops)),
        ("aset (async), CPU", best(blocks["kaset-cpu"], ops), best(blocks["raset-cpu"], ops)),
        ("get (memory://)", mget / ops * 1e6, float("nan")),
        ("set (memory://)", mset / ops * 1e6, float("nan")),
    ]


def session_rows(ops: int, rounds: int, database_url: str | None) -> list[tuple[str, float, float]]:
    from kettle.auth.redis_sessions import RedisSessionBackend
    from kettle.auth.sessions import DatabaseSessionBackend
    from kettle.db import Database
    from kettle.sessions import SignedCookieBackend

    folder = Path(tempfile.mkdtemp())
    db = Database(url=database_url or f"sqlite:///{folder / 'sessions.sqlite3'}")
    db.create_all()
    backends = {
        "redis": RedisSessionBackend(REDIS, prefix=f"bench-sessions-{uuid.uuid4().hex[:6]}"),
        "database": DatabaseSessionBackend(db),
        "signed cookie": SignedCookieBackend("bench-secret-key"),
    }
    ops = max(ops // 5, 50)  # a database write costs ~10x a Redis round trip

    async def run() -> dict[str, tuple[list[float], list[float]]]:
        tokens = {n: await b.save(None, SESSION, 3600) for n, b in backends.items()}
        found: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in backends}
        for _ in range(rounds):
            for name, backend in backends.items():  # interleaved, store by store
                token = tokens[name]
                found[name][0].append(await atimed(lambda b=backend, t=token: b.load(t), ops))
                found[name][1].append(
                    await atimed(lambda b=backend, t=token: b.save(t, SESSION, 3600), ops)
                )
        await db.adispose()
        return found

    found = asyncio.run(run())
    db.drop_all()
    db.dispose()
    return [(name, best(load, ops), best(save, ops)) for name, (load, save) in found.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500, help="operations per block")
    parser.add_argument("--rounds", type=int, default=30, help="blocks per contender")
    parser.add_argument("--database-url", help="the database store's URL (default SQLite)")
    args = parser.parse_args()
    print(f"cache, {args.ops} operations a block, best of {args.rounds} (us/op)")
    print(f"{'operation':<20}{'kettle':>10}{'redis-py':>10}{'ratio':>8}")
    for name, kettle, direct in cache_rows(args.ops, args.rounds):
        ratio = kettle / direct if direct == direct else float("nan")
        print(f"{name:<20}{kettle:>10.1f}{direct:>10.1f}{ratio:>8.2f}")
    print(f"\nsessions, best of {args.rounds} (us/op)")
    print(f"{'store':<18}{'load':>10}{'save':>10}")
    for name, load, save in session_rows(args.ops, args.rounds, args.database_url):
        print(f"{name:<18}{load:>10.1f}{save:>10.1f}")


if __name__ == "__main__":
    main()
