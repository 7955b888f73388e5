"""``AsyncTestClient.websocket_connect``: the same connection as ``TestClient``'s, awaited
on the test's own loop (messages both ways, close codes, refused handshakes, a client that
stops reading, shut-down with 1001)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import test_websocket_limits
import test_websocket_routes

from kettle.testing import AsyncTestClient, AsyncWebSocketSession, WebSocketDenied
from kettle.websockets import WebSocketDisconnect

pytestmark = pytest.mark.anyio


async def drain(ws: AsyncWebSocketSession) -> tuple[list[str | bytes], WebSocketDisconnect]:
    """Read until the app closes the socket: what came, and how it closed."""
    received: list[str | bytes] = []
    while True:
        try:
            received.append(await ws.receive())
        except WebSocketDisconnect as closed:
            return received, closed


async def test_messages_both_ways() -> None:
    async with (
        AsyncTestClient(test_websocket_routes.make_app()) as client,
        client.websocket_connect("/echo") as ws,
    ):
        await ws.send_text("hello")
        assert await ws.receive_text() == "hello"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes() == b"\x00\x01"
        await ws.send_json({"tea": "oolong"})
        assert await ws.receive_json() == {"tea": "oolong"}
        async with client.websocket_connect("/rooms/12?nick=ann") as ws:
            assert await ws.receive_json() == {"room": 12, "nick": "ann"}
        async with client.websocket_connect("/sync") as ws:  # a def handler, in a thread
            await ws.send_text("quiet")
            assert await ws.receive_text() == "QUIET"


async def test_subprotocol_headers_and_the_apps_close() -> None:
    async with AsyncTestClient(test_websocket_routes.make_app()) as client:
        headers = {"sec-websocket-protocol": "v1, v2"}
        async with client.websocket_connect("/chosen", headers=headers) as ws:
            assert ws.subprotocol == "v2"
            assert ws.headers["x-room"] == "7"
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive()
            assert (closed.value.code, closed.value.reason) == (4000, "done")
            assert (ws.close_code, ws.close_reason) == (4000, "done")
            with pytest.raises(WebSocketDisconnect):  # and stays closed
                await ws.receive_text()


async def test_the_clients_close_code_reaches_the_handler() -> None:
    app = test_websocket_limits.make_app()
    async with AsyncTestClient(app) as client, client.websocket_connect("/chat") as ws:
        await ws.send_json({"text": "bye"})
        assert await ws.receive_json() == {"said": "bye", "to": 0}
        await ws.close(4001)
        assert app.state.ended == 4001


async def test_cookies_go_with_the_handshake() -> None:
    async with AsyncTestClient(test_websocket_routes.make_app()) as client:
        await client.get("/remember/ann")
        async with client.websocket_connect("/whoami") as ws:
            assert await ws.receive_json() == {"name": "ann", "hooked": True}


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/guarded/feed", 403, "members only"),  # a hook's own answer
        ("/refuse", 403, ""),  # closed before accepting
        ("/rooms/twelve", 404, None),  # no route
    ],
)
async def test_refused_handshakes_raise_with_the_status(
    path: str, status: int, text: str | None
) -> None:
    async with AsyncTestClient(test_websocket_routes.make_app()) as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket_connect(path):
                pytest.fail("the handshake was accepted")
    assert denied.value.status_code == status
    if text is not None:
        assert denied.value.text == text


async def test_cross_site_origin_is_refused() -> None:
    async with AsyncTestClient(test_websocket_limits.make_app()) as client:
        with pytest.raises(WebSocketDenied) as denied:
            async with client.websocket_connect(
                "/chat", headers={"origin": "https://evil.example"}
            ):
                pass
    assert denied.value.status_code == 403


async def test_a_client_that_does_not_read_is_closed_1008() -> None:
    app = test_websocket_limits.make_app()
    async with (
        AsyncTestClient(app) as client,
        client.websocket_connect("/firehose", max_queue=2) as ws,
    ):
        await asyncio.sleep(0.3)  # not reading
        received, closed = await drain(ws)
    assert closed.code == 1008
    assert "did not read" in closed.reason
    assert app.state.firehose == 1008
    assert len(received) < 20


async def test_shutdown_closes_open_sockets_1001() -> None:
    app = test_websocket_limits.make_app()
    client = AsyncTestClient(app)
    await client.__aenter__()
    ws = await client.websocket_connect("/wait").__aenter__()
    await client.__aexit__()  # the app shuts down with the socket open
    _, closed = await drain(ws)
    assert (closed.code, closed.reason) == (1001, "The server is shutting down.")
    await ws.close()
    assert not app.websockets


async def test_a_silent_app_times_out() -> None:
    app = test_websocket_limits.make_app()
    async with AsyncTestClient(app) as client, client.websocket_connect("/wait", timeout=0.2) as ws:
        with pytest.raises(TimeoutError, match=r"sent nothing on the WebSocket within 0\.2 s"):
            await ws.receive()


async def test_the_apps_own_error_is_raised() -> None:
    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("the app broke")

    client = AsyncTestClient(broken)
    with pytest.raises(RuntimeError, match="the app broke"):
        async with client.websocket_connect("/anything"):
            pass
    await client.aclose()
