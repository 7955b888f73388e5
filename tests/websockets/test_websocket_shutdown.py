"""SIGTERM closes open sockets with 1001 before the server's own handler runs, in
process: a real signal to this process, with a Python handler standing in for the
server's (as uvicorn's is), and one an event loop dispatches (as Granian's is)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest
import test_websocket_limits

from kettle import App
from kettle.testing import AsyncTestClient
from kettle.websockets import WebSocket, WebSocketDisconnect

pytestmark = pytest.mark.anyio
REASON = "The server is shutting down."


class ServerHandler:
    """A Python SIGTERM handler, as a server installs before the app starts: it records
    each signal, and whether ``app``'s sockets were all closed by then."""

    def __init__(self) -> None:
        self.app: App | None = None
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.calls.append((signum, self.app is None or not self.app.websockets))


@pytest.fixture
def server_handler() -> Iterator[ServerHandler]:
    handler = ServerHandler()
    before = signal.signal(signal.SIGTERM, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_sigterm_closes_sockets_1001_then_calls_the_servers_handler(
    server_handler: ServerHandler,
) -> None:
    app = server_handler.app = test_websocket_limits.make_app()
    async with AsyncTestClient(app) as client, client.websocket_connect("/wait") as ws:
        await asyncio.sleep(0.05)  # the handler is waiting for messages
        assert signal.getsignal(signal.SIGTERM) is not server_handler  # Kettle's is first
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # a second one (a supervisor's) waits as well
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (1001, REASON)
        for _ in range(50):
            if server_handler.calls:
                break
            await asyncio.sleep(0.01)
    # The server's handler ran once, after the socket was closed, and has SIGTERM back.
    assert server_handler.calls == [(signal.SIGTERM, True)]
    assert signal.getsignal(signal.SIGTERM) is server_handler


async def test_with_no_socket_open_the_signal_goes_straight_on(
    server_handler: ServerHandler,
) -> None:
    async with AsyncTestClient(test_websocket_limits.make_app()) as client:
        async with client.websocket_connect("/chat") as ws:
            await ws.send_json({"text": "hi"})
            await ws.receive_json()
        # Closed, but the app still runs: Kettle's handler stays in front until shut-down,
        # and passes the signal on at once.
        assert signal.getsignal(signal.SIGTERM) is not server_handler
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert server_handler.calls == [(signal.SIGTERM, True)]
        assert signal.getsignal(signal.SIGTERM) is server_handler


async def test_shutdown_gives_the_signal_back(server_handler: ServerHandler) -> None:
    async with (
        AsyncTestClient(test_websocket_limits.make_app()) as client,
        client.websocket_connect("/wait"),
    ):
        assert signal.getsignal(signal.SIGTERM) is not server_handler
    assert signal.getsignal(signal.SIGTERM) is server_handler
    assert server_handler.calls == []


async def test_a_handler_the_event_loop_dispatches_is_left_alone() -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)  # as Granian's workers do
    try:
        loop_handler = signal.getsignal(signal.SIGTERM)
        async with (
            AsyncTestClient(test_websocket_limits.make_app()) as client,
            client.websocket_connect("/wait"),
        ):
            assert signal.getsignal(signal.SIGTERM) is loop_handler
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    assert not stopped.is_set()


async def test_granians_loop_handler_runs_after_the_sockets_close() -> None:
    # Granian 2.x's workers register one callback for SIGINT and SIGTERM on the loop
    # (granian/_signals.py); Kettle takes SIGTERM over and hands on with SIGINT.
    import granian

    assert granian.__version__.startswith("2.")
    loop = asyncio.get_running_loop()
    app = test_websocket_limits.make_app()
    seen: list[tuple[int, int | None]] = []  # (signal, the socket's close code by then)
    server_side: list[WebSocket] = []

    def granian_stop(signum: int) -> None:
        seen.append((signum, server_side[0].close_code if server_side else None))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, granian_stop, sig)
    try:
        async with AsyncTestClient(app) as client:
            async with client.websocket_connect("/wait") as ws:
                await asyncio.sleep(0.05)  # the handler is waiting for messages
                server_side.extend(app.websockets)
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)  # Granian's main process sends one too
                with pytest.raises(WebSocketDisconnect) as closed:
                    await ws.receive()
                assert (closed.value.code, closed.value.reason) == (1001, REASON)
                for _ in range(50):
                    if seen:
                        break
                    await asyncio.sleep(0.01)
            # Granian's callback ran once, as for SIGINT, after the socket was closed.
            assert seen == [(signal.SIGINT, 1001)]
            # A second SIGTERM (no socket open now) goes straight on.
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            assert seen == [(signal.SIGINT, 1001)] * 2
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def test_a_close_from_another_task_ends_the_handlers_wait() -> None:
    # What shut-down does: the handler waits in receive, another task closes the socket.
    # The wait ends with WebSocketDisconnect (Granian would not send the close frame
    # while it went on) and the client gets the code and reason.
    app = test_websocket_limits.make_app()
    async with AsyncTestClient(app) as client, client.websocket_connect("/chat") as ws:
        await ws.send_json({"text": "hi"})
        assert await ws.receive_json() == {"said": "hi", "to": 0}
        (server_side,) = app.websockets
        await server_side.close(4000, "Kicked.")
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (4000, "Kicked.")
        for _ in range(50):
            if not app.websockets:
                break
            await asyncio.sleep(0.01)
        assert not app.websockets  # the handler returned, the client still connected
        assert app.state.ended == 4000
