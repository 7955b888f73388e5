"""Redis unreachable: the cache answers misses, logs once per outage, and requests keep
working; when Redis is back, so is the cache. The outage is a TCP proxy cut mid-load."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachehelpers import own_prefix

from kettle import App
from kettle.cache import Cache, RedisBackend
from kettle.testing import TestClient
from tcpproxy import Proxy


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy("127.0.0.1", 6379)
    running.start()
    yield running
    running.close()


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]


def test_requests_keep_working_through_an_outage(
    proxy: Proxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(root=tmp_path)
    # NOTE: a generous timeout: on a busy machine a slow answer must not count as an
    # outage of its own; the cut proxy fails fast either way (connections reset, refused).
    backend = RedisBackend(f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=2.0)
    cache = Cache(app, backend=backend, prefix=own_prefix())
    computed: list[int] = []

    @app.get("/count")
    def count() -> dict[str, int]:
        def compute() -> int:
            computed.append(1)
            return len(computed)

        return {"value": cache.get_or_set("value", compute, ttl=60), "hits": cache.incr("hits")}

    @app.get("/acount")
    async def acount() -> dict[str, int]:
        return {"value": await cache.aget_or_set("avalue", lambda: 7, ttl=60)}

    caplog.set_level(logging.WARNING, logger="kettle.cache")
    statuses: list[int] = []
    stop = threading.Event()

    def load(client: TestClient) -> None:
        while not stop.is_set():
            statuses.append(client.get("/count").status_code)
            statuses.append(client.get("/acount").status_code)

    with TestClient(app) as client:
        assert client.get("/count").json() == {"value": 1, "hits": 1}
        assert client.get("/count").json()["value"] == 1  # from Redis
        loader = threading.Thread(target=load, args=(client,))
        loader.start()
        time.sleep(0.3)
        proxy.stop()  # mid-load: open connections cut, new ones refused
        time.sleep(1.5)
        during = client.get("/count")
        assert during.status_code == 200
        assert during.json()["value"] > 1  # a miss: computed again, not a 500
        assert client.get("/acount").json() == {"value": 7}
        proxy.start()
        time.sleep(1.2)  # past the retry interval
        stop.set()
        loader.join()
        after = client.get("/count").json()["value"]
        assert client.get("/count").json()["value"] == after  # cached in Redis again
    assert statuses
    assert set(statuses) == {200}
    warnings = _outage_warnings(caplog)
    assert len(warnings) == 1, warnings  # once per outage, not once per call
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    cache.clear()


def test_a_refused_connection_does_not_stall(proxy: Proxy) -> None:
    cache = Cache(url=f"redis://127.0.0.1:{proxy.port}/0", prefix=own_prefix())
    proxy.stop()
    assert cache.get("k", "default") == "default"
    cache.set("k", "v")  # no-op, no error
    assert cache.add("k", "v") is True  # nobody to coordinate with
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    assert cache.get_many(["a", "b"]) == {}
