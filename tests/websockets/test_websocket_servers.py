"""WebSockets on real Granian and uvicorn, with the ``websockets`` client library: echo,
``def`` handlers, bad messages, the Origin check, size limits and slow clients (SIGTERM:
test_websocket_server_shutdown.py). No bad input may leave a traceback in the server's
output."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from wsservers import Served, serving

from servers import SERVERS

pytestmark = pytest.mark.server


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serving(request.param) as served:
        yield served
        assert "Traceback" not in served.output(), served.output()


def closed_by_server(ws: ClientConnection) -> tuple[int, ConnectionClosed]:
    """Read until the server closes: how many messages came, and how it closed."""
    received = 0
    while True:
        try:
            ws.recv(timeout=5)
        except ConnectionClosed as closed:
            return received, closed
        received += 1


def test_echo(served: Served) -> None:
    with connect(served.ws_url + "/echo") as ws:
        ws.send("tea")
        assert ws.recv(timeout=5) == "tea"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=5) == b"\x00\xff"


def test_def_handler(served: Served) -> None:
    with connect(served.ws_url + "/sync-echo") as ws:
        for word in ("one", "two"):
            ws.send(word)
            assert ws.recv(timeout=5) == word


def test_typed_message_and_a_bad_one(served: Served) -> None:
    with connect(served.ws_url + "/chat") as ws:
        ws.send('{"text": "hi"}')
        assert ws.recv(timeout=5) == '{"said":"hi"}'
        ws.send('{"text": 7}')
        _, closed = closed_by_server(ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1007
    assert "Expected `str`, got `int` - at `$.text`" in closed.rcvd.reason


def test_cross_site_origin_is_refused_with_403(served: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(served.ws_url + "/echo", origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert b"may not open WebSockets here" in refused.value.response.body


def test_same_origin_is_allowed(served: Served) -> None:
    with connect(served.ws_url + "/echo", origin=served.url) as ws:  # type: ignore[arg-type]
        ws.send("ok")
        assert ws.recv(timeout=5) == "ok"


def test_unknown_path_is_404(served: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(served.ws_url + "/nowhere")
    assert refused.value.response.status_code == 404


def test_message_over_the_limit_closes_1009(served: Served) -> None:
    with connect(served.ws_url + "/echo") as ws:
        ws.send("x" * 2000)
        _, closed = closed_by_server(ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1009


def test_client_that_stops_reading_is_dropped(served: Served) -> None:
    if served.server == "uvicorn":
        pytest.skip("uvicorn's send never waits (it buffers), so no backpressure reaches the app")
    with connect(served.ws_url + "/firehose", max_queue=4) as ws:
        time.sleep(3)  # the app's sends wait, its buffer fills, send_timeout (1 s) passes
        received, _ = closed_by_server(ws)
    assert received < 50_000  # of 100,000: the rest was never sent


def test_client_pings_are_answered(served: Served) -> None:
    # Neither server needs the app for pongs: a client that pings keeps its connection
    # alive, and finds out when the server is gone (Granian sends no pings of its own).
    with connect(served.ws_url + "/echo", ping_interval=None) as ws:
        assert ws.ping().wait(5)
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def test_a_silent_client_is_closed_by_idle_timeout(served: Served) -> None:
    # What detects a dead peer under Granian: no message for idle_timeout (0.5 s here).
    # Pings do not count: the server answers them without telling the app.
    with connect(served.ws_url + "/idle", ping_interval=None) as ws:
        ws.send("one")
        assert ws.recv(timeout=5) == "one"
        started = time.monotonic()
        for _ in range(3):
            assert ws.ping().wait(5)
            time.sleep(0.1)
        received, closed = closed_by_server(ws)
    assert received == 0
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1000, "No message for 0.5 s (idle_timeout).")
    assert 0.4 < time.monotonic() - started < 3
