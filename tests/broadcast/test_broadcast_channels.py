"""Broadcast in one process, on each backend: subscriptions, sockets joined to channels,
payload kinds, slow readers, and Redis outages (cut with the TCP proxy)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable

import msgspec
import pytest

from kettle import App
from kettle.broadcast import Broadcast, SubscriberTooSlow
from kettle.exceptions import ConfigurationError
from kettle.settings import Settings
from kettle.testing import TestClient, WebSocketSession
from kettle.websockets import WebSocket, WebSocketDisconnect
from tcpproxy import Proxy

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.anyio


def own_prefix() -> str:
    return "kettle-test-" + uuid.uuid4().hex


@pytest.fixture(params=["memory://", REDIS_URL], ids=["memory", "redis"])
async def broadcast(request: pytest.FixtureRequest) -> AsyncIterator[Broadcast]:
    built = Broadcast(url=request.param, prefix=own_prefix())
    yield built
    await built.aclose()


def drain(ws: WebSocketSession) -> WebSocketDisconnect:
    """Read until the app closes the socket; how it closed."""
    while True:
        try:
            ws.receive()
        except WebSocketDisconnect as closed:
            return closed


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - a log line, not an event
            await asyncio.sleep(0.05)


class Score(msgspec.Struct):
    team: str
    goals: int


async def test_subscribers_hear_what_is_published(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("scores") as one, broadcast.subscribe("scores") as two:
        await broadcast.publish("scores", "kick-off")
        await broadcast.publish("scores", b"\x00raw")
        await broadcast.publish("scores", Score("reds", 2))
        await broadcast.publish("other", "not for us")
        for sub in (one, two):
            async with asyncio.timeout(2):
                assert await sub.get() == "kick-off"
                assert await sub.get() == b"\x00raw"
                assert msgspec.json.decode(await sub.get(), type=Score) == Score("reds", 2)
            assert sub._queue.empty()
    assert broadcast.members("scores") == 0


async def test_a_slow_subscriber_is_told(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("burst", max_queue=2) as sub:
        for n in range(3):
            await broadcast.publish("burst", str(n))
        await asyncio.sleep(0.1)
        with pytest.raises(SubscriberTooSlow, match="more than 2 messages behind"):
            await sub.get()


async def test_unknown_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="memory:// or redis://"):
        Broadcast(url="kafka://somewhere")


@pytest.mark.parametrize("url", ["memory://", REDIS_URL], ids=["memory", "redis"])
def test_sockets_joined_to_a_channel(url: str) -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)
    broadcast = Broadcast(app, url, prefix=own_prefix())

    @app.websocket("/rooms/<room>")
    async def room(ws: WebSocket, room: str) -> None:
        async with broadcast.join(room, ws):
            await ws.send_text("joined")
            async for text in ws.iter(str):
                await broadcast.publish(room, text)

    with (
        TestClient(app) as client,
        client.websocket_connect("/rooms/tea") as ann,
        client.websocket_connect("/rooms/tea") as bob,
        client.websocket_connect("/rooms/coffee") as cid,
    ):
        assert [ws.receive_text() for ws in (ann, bob, cid)] == ["joined"] * 3
        ann.send_text("hello tea")
        assert ann.receive_text() == bob.receive_text() == "hello tea"
        cid.send_text("hello coffee")
        assert cid.receive_text() == "hello coffee"
        bob.close()
        ann.send_text("still here")
        assert ann.receive_text() == "still here"
    assert broadcast.members("tea") == 0


def test_a_slow_socket_is_closed_and_the_others_still_hear() -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)
    broadcast = Broadcast(app)
    from kettle.websockets import WebSocketOptions

    @app.websocket("/feed", options=WebSocketOptions(send_buffer=2))
    async def feed(ws: WebSocket) -> None:
        async with broadcast.join("feed", ws):
            async for _ in ws:
                pass

    @app.post("/say/<int:n>")
    async def say(n: int) -> str:
        for i in range(n):
            await broadcast.publish("feed", str(i))
            await asyncio.sleep(0.001)  # a burst of 20 would fill any buffer of 2
        return "ok"

    with (
        TestClient(app) as client,
        client.websocket_connect("/feed", max_queue=1) as slow,
        client.websocket_connect("/feed") as fast,
    ):
        client.post("/say/20")
        assert [fast.receive_text() for _ in range(20)] == [str(i) for i in range(20)]
        assert drain(slow).code == 1008
        assert broadcast.members("feed") == 1


async def test_redis_outage_then_reconnect(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "kettle.broadcast")
    proxy = Proxy("127.0.0.1", 6379)
    proxy.start()
    url = f"redis://127.0.0.1:{proxy.port}/0"
    listener = Broadcast(url=url, prefix=(prefix := own_prefix()))
    publisher = Broadcast(url=REDIS_URL, prefix=prefix)  # not behind the proxy
    try:
        async with listener.subscribe("news") as news:
            await publisher.publish("news", "before")
            async with asyncio.timeout(2):
                assert await news.get() == "before"
            proxy.stop()
            await until(lambda: "lost Redis" in caplog.text)
            await publisher.publish("news", "during")  # lost to the cut-off listener
            proxy.start()
            await until(lambda: "is back" in caplog.text)
            await publisher.publish("news", "after")
            async with asyncio.timeout(2):
                assert await news.get() == "after"
        proxy.stop()
        with pytest.raises(ConnectionError, match="did not answer"):
            await listener.publish("news", "nobody")
    finally:
        await listener.aclose()
        await publisher.aclose()
        proxy.close()
