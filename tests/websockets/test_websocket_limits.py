"""Typed messages, bad messages, the Origin check, limits, backpressure and shut-down,
in process: every refusal is a close with a code and a reason, never a crash."""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
import pytest

from kettle import App, Group
from kettle._types import ASGIApp, Message, Receive, Scope, Send
from kettle.settings import Settings
from kettle.testing import TestClient, WebSocketDenied, WebSocketSession
from kettle.websockets import WebSocket, WebSocketDisconnect, WebSocketOptions


class Chat(msgspec.Struct):
    text: str
    to: int = 0


def make_app() -> App:
    settings = Settings(
        env="testing",
        allowed_hosts=["testserver", ".kettle.test"],
        csrf_trusted_origins=["https://partner.example"],
    )
    app = App(settings=settings, templates=None, static=None)
    app.websocket_options = WebSocketOptions(
        max_message_size=64, origins=("https://friend.example",)
    )

    @app.websocket("/chat")
    async def chat(ws: WebSocket) -> None:
        async for msg in ws.iter(Chat):
            await ws.send_json({"said": msg.text, "to": msg.to})
        app.state.ended = ws.close_code

    @app.websocket("/text")
    async def text(ws: WebSocket) -> None:
        await ws.send_text(await ws.receive_text())

    @app.websocket("/idle", options=WebSocketOptions(idle_timeout=0.05))
    async def idle(ws: WebSocket) -> None:
        async for message in ws:
            await ws.send_text(str(message))

    @app.websocket("/firehose", options=WebSocketOptions(send_buffer=4, send_timeout=0.1))
    async def firehose(ws: WebSocket) -> None:
        try:
            for n in range(1000):
                await ws.send_text(str(n))
        except WebSocketDisconnect as gone:
            app.state.firehose = gone.code

    @app.websocket("/fanout", options=WebSocketOptions(send_buffer=4))
    async def fanout(ws: WebSocket) -> None:
        await ws.accept()
        app.state.fanout = [ws.send_nowait(str(n)) for n in range(6)]
        await asyncio.sleep(0.05)

    @app.websocket("/wait")
    async def wait(ws: WebSocket) -> None:
        await ws.accept()
        app.state.waiting = True
        async for _ in ws:
            pass

    return app


@pytest.fixture(scope="module")
def app() -> App:
    return make_app()


@pytest.fixture(scope="module")
def client(app: App) -> TestClient:
    with TestClient(app) as client:
        yield client


def closed_with(ws: object) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive()  # type: ignore[attr-defined]
    return closed.value.code, closed.value.reason


def drain(ws: WebSocketSession) -> tuple[list[str | bytes], WebSocketDisconnect]:
    """Read until the app closes the socket: what came, and how it closed."""
    received: list[str | bytes] = []
    while True:
        try:
            received.append(ws.receive())
        except WebSocketDisconnect as closed:
            return received, closed


def test_typed_messages(client: TestClient) -> None:
    with client.websocket_connect("/chat") as ws:
        ws.send_json({"text": "hi", "to": 3})
        assert ws.receive_json() == {"said": "hi", "to": 3}
        ws.send_json({"text": "again"})
        assert ws.receive_json() == {"said": "again", "to": 0}


def test_invalid_json_closes_1007(client: TestClient) -> None:
    with client.websocket_connect("/chat") as ws:
        ws.send_text("{not json")
        code, reason = closed_with(ws)
    assert code == 1007
    assert reason.startswith("The message is not valid JSON")


@pytest.mark.parametrize(
    ("message", "named"),
    [({"to": 1}, "`text`"), ({"text": "hi", "to": "x"}, "`$.to`")],
)
def test_wrong_shape_closes_1007_naming_the_field(
    client: TestClient, app: App, message: dict[str, object], named: str
) -> None:
    with client.websocket_connect("/chat") as ws:
        ws.send_json(message)
        code, reason = closed_with(ws)
    assert code == 1007
    assert reason.startswith("Invalid message")
    assert named in reason
    assert app.state.ended == 1007  # the handler's loop ended; no crash


def test_binary_where_text_is_expected_closes_1003(client: TestClient) -> None:
    with client.websocket_connect("/text") as ws:
        ws.send_bytes(b"\xff")
        assert closed_with(ws) == (1003, "Expected a text message, got a binary one.")


def test_message_over_the_limit_closes_1009(client: TestClient) -> None:
    with client.websocket_connect("/text") as ws:
        ws.send_text("é" * 40)  # 40 characters, 80 bytes
        code, reason = closed_with(ws)
    assert code == 1009
    assert "64 bytes (max_message_size)" in reason


def test_idle_socket_is_closed(client: TestClient) -> None:
    with client.websocket_connect("/idle") as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "ping"
        assert closed_with(ws) == (1000, "No message for 0.05 s (idle_timeout).")


def test_client_that_does_not_read_is_closed_1008(client: TestClient, app: App) -> None:
    with client.websocket_connect("/firehose", max_queue=2) as ws:
        time.sleep(0.3)  # not reading
        received, closed = drain(ws)
    assert closed.code == 1008
    assert "did not read" in closed.reason
    assert app.state.firehose == 1008
    assert len(received) < 20


def test_send_nowait_closes_when_the_buffer_is_full(client: TestClient, app: App) -> None:
    with client.websocket_connect("/fanout", max_queue=1) as ws:
        _, closed = drain(ws)
    assert closed.code == 1008
    assert app.state.fanout == [True] * 4 + [False] * 2


def test_sends_go_one_at_a_time_in_the_order_made() -> None:
    # The handler's own sends go straight to the server when nothing waits, send_nowait
    # ones through the buffer: a slow reader makes the two take turns. The server must
    # never get a send before the previous one returned, and the client gets every
    # message in the order the app made them.
    app = App(settings=Settings(env="testing"), templates=None, static=None)
    in_flight = [0, 0]  # now, most ever

    def one_send_at_a_time(inner: ASGIApp) -> ASGIApp:
        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            async def counted(message: Message) -> None:
                in_flight[0] += 1
                in_flight[1] = max(in_flight)
                try:
                    await send(message)
                finally:
                    in_flight[0] -= 1

            await inner(scope, receive, counted)

        return asgi

    app.add_middleware(one_send_at_a_time)
    order: list[str] = []

    @app.websocket("/two-senders", options=WebSocketOptions(send_buffer=32))
    async def two_senders(ws: WebSocket) -> None:
        await ws.accept()

        async def broadcasts() -> None:
            for n in range(10):
                order.append(f"b{n}")
                assert ws.send_nowait(f"b{n}")
                await asyncio.sleep(0)

        other = asyncio.create_task(broadcasts())
        for n in range(10):
            order.append(f"h{n}")
            await ws.send_text(f"h{n}")
        await other

    with TestClient(app) as client, client.websocket_connect("/two-senders", max_queue=1) as ws:
        time.sleep(0.05)
        received, closed = drain(ws)
    assert closed.code == 1000
    assert received == order
    assert len(received) == 20
    assert in_flight[1] == 1


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver",
        "https://friend.example",
        "https://partner.example",
        "https://www.kettle.test",
    ],
)
def test_allowed_origins(client: TestClient, origin: str) -> None:
    with client.websocket_connect("/text", headers={"origin": origin}) as ws:
        ws.send_text("ok")
        assert ws.receive_text() == "ok"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://testserver.evil.example", "file://"]
)
def test_cross_site_origin_is_refused_403(client: TestClient, origin: str) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("/text", headers={"origin": origin}).__enter__()
    assert denied.value.status_code == 403
    assert "may not open WebSockets here" in denied.value.text


def test_options_come_from_the_route_then_its_groups_then_the_app() -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)
    app.websocket_options = WebSocketOptions(max_message_size=100)
    outer = Group("outer", prefix="/outer")
    outer.websocket_options = WebSocketOptions(max_message_size=10)
    inner = Group("inner", prefix="/inner")

    async def limit(ws: WebSocket) -> None:
        await ws.send_text(str(ws.options.max_message_size))

    app.websocket("/app")(limit)
    inner.websocket("/group")(limit)
    inner.websocket("/own", name="own", options=WebSocketOptions(max_message_size=5))(limit)
    outer.include(inner)
    app.include(outer)
    with TestClient(app) as client:
        for path, size in [
            ("/app", "100"),
            ("/outer/inner/group", "10"),
            ("/outer/inner/own", "5"),
        ]:
            with client.websocket_connect(path) as ws:
                assert ws.receive_text() == size


def test_origin_check_can_be_turned_off() -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)

    @app.websocket("/open", options=WebSocketOptions(origins=("*",)))
    async def open_(ws: WebSocket) -> None:
        await ws.send_text("in")

    with (
        TestClient(app) as client,
        client.websocket_connect("/open", headers={"origin": "https://anyone.example"}) as ws,
    ):
        assert ws.receive_text() == "in"


def test_bad_host_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("ws://elsewhere.example/text").__enter__()
    assert denied.value.status_code == 400


def test_shutdown_closes_sockets_1001(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    caplog.set_level(logging.INFO)
    client = TestClient(app)
    client.__enter__()
    ws = client.websocket_connect("/wait").__enter__()
    client._loop.run(app.shutdown())
    client._started = False
    assert closed_with(ws) == (1001, "The server is shutting down.")
    ws.close()
    client.__exit__()
    assert not app.websockets
    assert "Traceback" not in caplog.text
