"""The test clients' WebSocket sessions: each scenario runs through ``TestClient`` (the app
on the client's loop thread) and ``AsyncTestClient`` (the app on the test's loop), against
a bare ASGI app, so what the session itself does is what is checked: the handshake scope,
messages, close codes, refusals, timeouts, a client that stops reading, the app's errors."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest

from kettle.testing import (
    AsyncTestClient,
    AsyncWebSocketSession,
    TestClient,
    WebSocketDenied,
    WebSocketSession,
)
from kettle.websockets import WebSocketDisconnect

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("kind", ["sync", "async"])]

T = TypeVar("T")
Session = WebSocketSession | AsyncWebSocketSession


async def do(result: T | Awaitable[T]) -> T:
    """A session call's result, awaited when the session is the async one."""
    if inspect.isawaitable(result):
        return await result
    return result


class Recorder:
    """A bare ASGI app of one WebSocket route a path, recording what it saw."""

    def __init__(self) -> None:
        self.sent = 0
        self.disconnect: dict[str, Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await getattr(self, scope["path"].strip("/").replace("-", "_").split("/")[0])(
            scope, receive, send
        )

    async def echo(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"x-room", b"7")]
        await send({"type": "websocket.accept", "subprotocol": "v2", "headers": headers})
        while (message := await receive())["type"] == "websocket.receive":
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4000, "reason": "done"})
                return
            await send({"type": "websocket.send", **message})
        self.disconnect = message

    async def scope(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        seen = {k: scope[k] for k in ("path", "scheme", "subprotocols")}
        seen["query"] = scope["query_string"].decode()
        seen["headers"] = {k.decode(): v.decode() for k, v in scope["headers"]}
        await send({"type": "websocket.send", "text": json.dumps(seen)})
        await send({"type": "websocket.close", "code": 1000})

    async def no_code(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})  # ASGI: the code defaults to 1000
        self.disconnect = await receive()

    async def drop(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "bytes": b"last"})  # then returns, no close

    async def refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"WWW-Authenticate", b"Bearer")]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        for part in (b"no ", b"entry"):
            await send({"type": "websocket.http.response.body", "body": part, "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b""})

    async def close_first(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.close", "code": 1000})

    async def broken_early(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("broke before the handshake")

    async def broken(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("broke on the first message")

    async def silent(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        self.disconnect = await receive()

    async def deaf(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        await receive()
        await asyncio.sleep(0.6)  # ignores the close a while

    async def firehose(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        for number in range(6):
            await send({"type": "websocket.send", "text": str(number)})
            self.sent += 1
        await send({"type": "websocket.close", "code": 1000})


async def drain(ws: Session) -> tuple[list[str | bytes], WebSocketDisconnect]:
    """Read until the app closes the socket: what came, and how it closed."""
    received: list[str | bytes] = []
    while True:
        try:
            received.append(await do(ws.receive()))
        except WebSocketDisconnect as closed:
            return received, closed


@contextlib.asynccontextmanager
async def client_of(kind: str, app: Any) -> AsyncIterator[TestClient | AsyncTestClient]:
    """``kind``'s test client for ``app``, started."""
    if kind == "sync":
        with TestClient(app) as client:
            yield client
    else:
        async with AsyncTestClient(app) as client:
            yield client


@contextlib.asynccontextmanager
async def connected(
    kind: str, app: Any, url: str, cookies: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[Session]:
    """A session of ``kind``'s client to ``url``, the client holding ``cookies``."""
    async with client_of(kind, app) as client:
        for name, value in (cookies or {}).items():
            client.cookies.set(name, value)
        if isinstance(client, TestClient):
            with client.websocket_connect(url, **options) as ws:
                yield ws
        else:
            async with client.websocket_connect(url, **options) as ws:
                yield ws


async def test_messages_subprotocol_headers_and_the_apps_close(kind: str) -> None:
    app = Recorder()
    headers = {"sec-websocket-protocol": "v1, v2"}
    async with connected(kind, app, "/echo", headers=headers) as ws:
        assert (ws.subprotocol, ws.headers, ws.close_code) == ("v2", {"x-room": "7"}, None)
        await do(ws.send_text("sencha"))
        assert await do(ws.receive_text()) == "sencha"
        await do(ws.send_bytes(b"\x00\xff"))
        assert await do(ws.receive_bytes()) == b"\x00\xff"
        await do(ws.send_json({"tea": ["oolong"]}))
        assert await do(ws.receive_json()) == {"tea": ["oolong"]}
        await do(ws.send_bytes(b"raw"))
        with pytest.raises(AssertionError, match="expected a text message, got b'raw'"):
            await do(ws.receive_text())
        await do(ws.send_text("bye"))
        for _ in range(2):  # and it stays closed
            with pytest.raises(WebSocketDisconnect) as closed:
                await do(ws.receive())
            assert (closed.value.code, closed.value.reason) == (4000, "done")
        assert (ws.close_code, ws.close_reason) == (4000, "done")


async def test_the_clients_close_code_reaches_the_app(kind: str) -> None:
    app = Recorder()
    async with connected(kind, app, "/echo") as ws:
        await do(ws.close(4001))
        assert ws.close_code == 4001
        assert app.disconnect == {"type": "websocket.disconnect", "code": 4001}
    async with connected(kind, app, "/silent"):
        pass  # leaving the block closes with 1000
    assert app.disconnect == {"type": "websocket.disconnect", "code": 1000}


async def test_the_handshake_scope_carries_url_headers_cookies_and_subprotocols(
    kind: str,
) -> None:
    url = "wss://example.test:8443/scope/room%20one?nick=ann"
    headers = {"X-Tea": "sencha", "sec-websocket-protocol": "a, b"}
    cookies = {"tea": "oolong"}
    async with connected(kind, Recorder(), url, cookies=cookies, headers=headers) as ws:
        seen = await do(ws.receive_json())
    assert seen["path"] == "/scope/room one"
    assert (seen["scheme"], seen["query"]) == ("wss", "nick=ann")
    assert seen["subprotocols"] == ["a", "b"]
    assert seen["headers"]["host"] == "example.test:8443"
    assert seen["headers"]["cookie"] == "tea=oolong"
    assert seen["headers"]["x-tea"] == "sencha"


async def test_a_close_without_a_code_is_1000(kind: str) -> None:
    app = Recorder()
    async with connected(kind, app, "/no-code") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            await do(ws.receive())
    assert closed.value.code == 1000
    assert app.disconnect == {"type": "websocket.disconnect", "code": 1000}


async def test_an_app_that_returns_without_closing_drops_the_line_1006(kind: str) -> None:
    async with connected(kind, Recorder(), "/drop") as ws:
        assert await do(ws.receive_bytes()) == b"last"
        with pytest.raises(WebSocketDisconnect) as closed:
            await do(ws.receive())
    assert closed.value.code == 1006


@pytest.mark.parametrize(
    ("path", "status", "headers", "text"),
    [
        ("/refuse", 401, {"www-authenticate": "Bearer"}, "no entry"),  # body in parts
        ("/close-first", 403, {}, ""),  # closed before accepting
    ],
)
async def test_a_refused_handshake_raises_with_the_answer(
    kind: str, path: str, status: int, headers: dict[str, str], text: str
) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        async with connected(kind, Recorder(), path):
            pytest.fail("the handshake was accepted")
    assert (denied.value.status_code, denied.value.headers) == (status, headers)
    assert denied.value.text == text
    assert (
        str(denied.value) == f"The WebSocket handshake was refused with {status}: {text.encode()!r}"
    )


async def test_the_apps_error_is_raised_in_the_test(kind: str) -> None:
    with pytest.raises(RuntimeError, match="broke before the handshake"):
        async with connected(kind, Recorder(), "/broken-early"):
            pytest.fail("the handshake was accepted")

    async def talk_to_the_broken_handler() -> None:
        async with connected(kind, Recorder(), "/broken") as ws:
            await do(ws.send_text("hello"))
            with pytest.raises(WebSocketDisconnect) as closed:
                await do(ws.receive())
            assert closed.value.code == 1006  # the line drops; leaving the block raises

    with pytest.raises(RuntimeError, match="broke on the first message"):
        await talk_to_the_broken_handler()


async def test_waits_for_the_app_time_out(kind: str) -> None:
    async with connected(kind, Recorder(), "/silent", timeout=0.2) as ws:
        with pytest.raises(TimeoutError, match=r"sent nothing on the WebSocket within 0\.2 s"):
            await do(ws.receive())
    async with connected(kind, Recorder(), "/deaf", timeout=0.2) as ws:
        with pytest.raises(TimeoutError, match=r"handler for /deaf was still running 0\.2 s"):
            await do(ws.close())
        ws.timeout = 5.0
        await do(ws.close())  # waits for the handler's end this time


async def test_a_client_that_stops_reading_holds_the_apps_sends(kind: str) -> None:
    app = Recorder()
    async with connected(kind, app, "/firehose", max_queue=2) as ws:
        await asyncio.sleep(0.2)  # not reading
        assert app.sent == 2
        received, closed = await drain(ws)
    assert received == ["0", "1", "2", "3", "4", "5"]
    assert closed.code == 1000
    assert app.sent == 6


async def test_a_session_outside_its_block_says_how_to_use_it(kind: str) -> None:
    async with client_of(kind, Recorder()) as client:
        ws = client.websocket_connect("/echo")
        with pytest.raises(RuntimeError, match=r"not open: use it inside `with client\."):
            await do(ws.receive())
    if isinstance(client, TestClient):  # its loop thread is gone with it
        with pytest.raises(RuntimeError, match="The TestClient is closed"):
            client.websocket_connect("/echo").__enter__()
