"""CPU per request of app_kettle.py's list and retrieve, in-process: no server, no wrk.

The same app and data as ``api_speed.py`` (which seeds the database), called as an ASGI
app in a loop; each endpoint's CPU time (``time.process_time``) over N calls, in rounds
that alternate the endpoints so a busy machine disturbs both alike. ``--profile`` runs
cProfile (on CPU time) over one endpoint instead::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kettle_api \\
        .venv/bin/python bench/api/inprocess.py --calls 300 --rounds 5
    .venv/bin/python bench/api/inprocess.py --profile list

Compare two versions of Kettle by running this under each (``PYTHONPATH=<a copy>/src``)
one after the other, several times: only the medians of interleaved runs say much.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KETTLE_ENV", "production")
os.environ.setdefault("KETTLE_SECRET_KEY", "bench-secret")
os.environ.setdefault("KETTLE_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kettle_api")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_kettle import app

ENDPOINTS = {"list": "/api/articles", "retrieve": "/api/articles/500"}


async def call(path: str) -> tuple[int, bytes]:
    """One GET of ``path``: its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


async def run(calls: int, rounds: int, profile: str | None) -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    try:
        for name, path in ENDPOINTS.items():
            status, body = await call(path)
            if status != 200:
                raise SystemExit(f"{name}: GET {path} answered {status}: {body[:300]!r}")
            for _ in range(100):  # warm: compiled shapes, prepared statements, pool
                await call(path)
        if profile is not None:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(calls):
                await call(ENDPOINTS[profile])
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(50)
            return
        cpu: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
        for _ in range(rounds):
            for name, path in ENDPOINTS.items():
                start = time.process_time()
                for _ in range(calls):
                    await call(path)
                cpu[name].append((time.process_time() - start) / calls * 1e6)
        for name, values in cpu.items():
            print(
                f"{name}: {statistics.median(values):,.0f} µs CPU/request "
                f"(median of {rounds} rounds of {calls}; min {min(values):,.0f})"
            )
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="requests per endpoint a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=tuple(ENDPOINTS), help="cProfile one endpoint")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds, args.profile))


if __name__ == "__main__":
    main()
