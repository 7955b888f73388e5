"""Broadcast across processes: two servers (Granian and uvicorn) on the machine's Redis;
what one publishes reaches WebSocket clients of the other."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "websockets"))
from wsservers import Served, serving

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Served, Served]]:
    env = {"KETTLE_BROADCAST_URL": REDIS_URL, "WSAPP_PREFIX": "kettle-test-" + uuid.uuid4().hex}
    with serving("granian", env) as one, serving("uvicorn", env) as two:
        yield one, two
        for served in (one, two):
            assert "Traceback" not in served.output(), served.output()


def test_a_publish_in_one_process_reaches_clients_of_the_other(
    pair: tuple[Served, Served],
) -> None:
    one, two = pair
    with connect(one.ws_url + "/rooms/tea") as ann, connect(two.ws_url + "/rooms/tea") as bob:
        assert ann.recv(timeout=5) == bob.recv(timeout=5) == "joined"
        response = httpx.post(two.url + "/rooms/tea")
        assert response.status_code == 200
        heard = ann.recv(timeout=5)
        assert heard == bob.recv(timeout=5)
        assert heard == f"from {two.process.pid}"  # uvicorn serves in its own process
        ann.send("hello from granian")
        assert bob.recv(timeout=5) == "hello from granian"
        assert ann.recv(timeout=5) == "hello from granian"


def test_channels_stay_apart(pair: tuple[Served, Served]) -> None:
    one, two = pair
    with connect(one.ws_url + "/rooms/a") as a, connect(two.ws_url + "/rooms/b") as b:
        assert a.recv(timeout=5) == b.recv(timeout=5) == "joined"
        b.send("only b")
        assert b.recv(timeout=5) == "only b"
        a.send("only a")
        assert a.recv(timeout=5) == "only a"
