"""Streaming responses and server-sent events."""

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from kettle import App, EventSourceResponse, ServerSentEvent, StreamingResponse
from kettle._types import Message
from kettle.testing import TestClient

pytestmark = pytest.mark.anyio


async def never_disconnects() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def run(response: StreamingResponse, receive: Any = never_disconnects) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    async with asyncio.timeout(5):
        await response({"type": "http", "method": "GET"}, receive, send)
    return messages


# --- StreamingResponse ---------------------------------------------------------------
async def test_async_iterator_is_sent_chunk_by_chunk() -> None:
    async def numbers() -> AsyncIterator[str | bytes]:
        for i in range(3):
            yield f"{i}\n"
        yield b"end"

    response = StreamingResponse(numbers(), media_type="text/plain", headers={"X-S": "1"})
    start, *bodies = await run(response)
    assert start["status"] == 200
    assert start["headers"] == [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-s", b"1"),
    ]
    assert [m["body"] for m in bodies] == [b"0\n", b"1\n", b"2\n", b"end", b""]
    assert [m.get("more_body", False) for m in bodies] == [True, True, True, True, False]


async def test_sync_iterator_runs_in_a_worker_thread() -> None:
    threads: list[threading.Thread] = []

    def lines() -> Iterator[bytes]:
        for word in (b"a", b"b"):
            threads.append(threading.current_thread())
            yield word

    _, *bodies = await run(StreamingResponse(lines()))
    assert b"".join(m["body"] for m in bodies) == b"ab"
    assert threads
    assert all(t is not threading.current_thread() for t in threads)


async def test_the_stream_stops_when_the_client_disconnects() -> None:
    produced: list[int] = []

    async def forever() -> AsyncIterator[str]:
        n = 0
        while True:
            produced.append(n)
            n += 1
            yield "tick"
            await asyncio.sleep(0.01)

    async def disconnect() -> Message:
        await asyncio.sleep(0.05)
        return {"type": "http.disconnect"}

    await run(StreamingResponse(forever()), receive=disconnect)
    count = len(produced)
    await asyncio.sleep(0.05)
    assert 0 < count == len(produced)


async def test_an_error_in_the_producer_is_raised() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "partial"
        raise ValueError("producer failed")

    with pytest.raises(ValueError, match="producer failed"):
        await run(StreamingResponse(broken()))


def test_an_explicit_content_type_header_is_not_duplicated() -> None:
    async def body() -> AsyncIterator[str]:
        yield "a,b"

    response = StreamingResponse(body(), media_type="text/plain", headers={"Content-Type": "a/b"})
    assert [v for k, v in response.raw_headers if k == b"content-type"] == [b"a/b"]


def test_streams_through_the_app_async_and_sync_and_head() -> None:
    app = App()

    @app.get("/async")
    async def from_async() -> StreamingResponse:
        async def parts() -> AsyncIterator[str]:
            for part in ("hel", "lo"):
                yield part

        return StreamingResponse(parts(), media_type="text/plain")

    @app.get("/sync")
    def from_sync() -> StreamingResponse:
        return StreamingResponse(iter([b"wor", b"ld"]), media_type="application/octet-stream")

    with TestClient(app) as client:
        a = client.get("/async")
        s = client.get("/sync")
        head = client.head("/async")
    assert a.text == "hello"
    assert a.headers["content-type"] == "text/plain; charset=utf-8"
    assert a.headers["x-content-type-options"] == "nosniff"
    assert s.content == b"world"
    assert head.status_code == 200
    assert head.content == b""


# --- server-sent events --------------------------------------------------------------
def test_event_encoding() -> None:
    event = ServerSentEvent("hello", event="greeting", id="7", retry=3000)
    assert event.encode() == b"event: greeting\nid: 7\nretry: 3000\ndata: hello\n\n"
    assert ServerSentEvent("line 1\nline 2\r\nline 3").encode() == (
        b"data: line 1\ndata: line 2\ndata: line 3\n\n"
    )
    assert ServerSentEvent().encode() == b"data: \n\n"
    assert ServerSentEvent({"temp": 21, "ok": True}).encode() == (
        b'data: {"temp":21,"ok":true}\n\n'
    )
    with pytest.raises(ValueError, match="cannot contain a line break"):
        ServerSentEvent("x", event="a\nb").encode()


def _sse_data(payload: bytes) -> list[str]:
    """What a browser's EventSource would hand to onmessage (lines split on CR/LF only)."""
    events = []
    for block in payload.decode().split("\n\n"):
        lines = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        if lines:
            events.append("\n".join(lines))
    return events


def test_data_is_split_only_on_sse_line_breaks() -> None:
    payload = {"text": "a\u2028b\x0cc"}
    [data] = _sse_data(ServerSentEvent(payload).encode())
    assert msgspec.json.decode(data) == payload


def test_event_source_response_through_the_app() -> None:
    app = App()

    @app.get("/events")
    async def events() -> EventSourceResponse:
        async def feed() -> AsyncIterator[Any]:
            yield ServerSentEvent("start", event="open", id="1")
            yield "two\nlines"
            yield {"n": 3}

        return EventSourceResponse(feed(), headers={"X-Feed": "1"})

    with TestClient(app) as client:
        response = client.get("/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-feed"] == "1"
    assert response.text == (
        'event: open\nid: 1\ndata: start\n\ndata: two\ndata: lines\n\ndata: {"n":3}\n\n'
    )


async def test_pings_are_sent_while_the_generator_is_slow() -> None:
    async def slow() -> AsyncIterator[str]:
        yield "first"
        await asyncio.sleep(0.3)
        yield "second"

    _, *bodies = await run(EventSourceResponse(slow(), ping=0.05))
    chunks = [m["body"] for m in bodies if m["body"]]
    assert chunks[0] == b"data: first\n\n"
    assert chunks[-1] == b"data: second\n\n"
    pings = chunks[1:-1]
    assert pings
    assert set(pings) == {b": ping\n\n"}


async def test_no_pings_when_events_come_quickly() -> None:
    async def quick() -> AsyncIterator[int]:
        for n in range(3):
            yield n

    _, *bodies = await run(EventSourceResponse(quick(), ping=5))
    assert b"".join(m["body"] for m in bodies) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
