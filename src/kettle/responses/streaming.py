"""Responses whose body is produced while it is sent: streams and server-sent events."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from kettle._types import Receive, Scope, Send
from kettle.responses.base import Response, content_type, encode_headers

Chunk = bytes | str
_DONE = object()
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


async def _iterate_in_thread(iterator: Iterator[Any]) -> AsyncIterator[Any]:
    # A blocking iterator (a file, a generator doing I/O) must not stall the event loop.
    loop = asyncio.get_running_loop()
    while True:
        item = await loop.run_in_executor(None, next, iterator, _DONE)
        if item is _DONE:
            return
        yield item


class StreamingResponse(Response):
    """Send a body produced by an iterator, chunk by chunk.

    Sync iterators run in a worker thread; the stream stops when the client goes away::

        async def numbers():
            for i in range(3):
                yield f"{i}\\n"

        return StreamingResponse(numbers(), media_type="text/plain")
    """

    def __init__(
        self,
        content: AsyncIterable[Chunk] | Iterable[Chunk],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status_code = status
        if media_type is not None:
            self.media_type = media_type
        self.body = b""
        if isinstance(content, AsyncIterable):
            self.body_iterator: AsyncIterable[Chunk] = content
        else:
            self.body_iterator = _iterate_in_thread(iter(content))
        self.raw_headers = encode_headers(headers)
        if self.media_type is not None and all(k != b"content-type" for k, _ in self.raw_headers):
            self.raw_headers.insert(
                0, (b"content-type", content_type(self.media_type, self.charset))
            )

    async def _stream(self, send: Send) -> None:
        async for chunk in self.body_iterator:
            data = chunk.encode(self.charset) if isinstance(chunk, str) else chunk
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return

        async def wait_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        streamer = asyncio.ensure_future(self._stream(send))
        watcher = asyncio.ensure_future(wait_disconnect())
        try:
            done, _ = await asyncio.wait({streamer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streamer, watcher):
                task.cancel()
            await asyncio.gather(streamer, watcher, return_exceptions=True)
        if streamer in done:
            streamer.result()  # re-raise an error from the producer


@dataclass(slots=True)
class ServerSentEvent:
    """One server-sent event; ``data`` that is not a string is sent as JSON.

    ::

        yield ServerSentEvent({"temp": 21}, event="reading", id="42")
    """

    #: The payload: a ``str`` is sent as it is (one ``data:`` line per line), anything
    #: else as JSON; the browser's ``event.data``.
    data: Any = ""
    #: The event type the browser dispatches (``source.addEventListener("reading", ...)``);
    #: None sends a plain ``message`` event. No line breaks.
    event: str | None = None
    #: The event id; the browser sends it back as ``Last-Event-ID`` when it reconnects,
    #: so the stream can resume after it. No line breaks.
    id: str | None = None
    #: How long the browser waits before reconnecting after the stream drops, in
    #: milliseconds; None keeps the browser's default.
    retry: int | None = None

    def encode(self) -> bytes:
        """The event in the ``text/event-stream`` format: ``event:``, ``id:``, ``retry:``
        and one ``data:`` line per line of data (JSON unless it is a ``str``), then a
        blank line::

            ServerSentEvent({"n": 1}, event="tick").encode()
            # b'event: tick\\ndata: {"n":1}\\n\\n'
        """
        data = self.data if isinstance(self.data, str) else msgspec.json.encode(self.data).decode()
        lines: list[str] = []
        if self.event is not None:
            lines.append(f"event: {_single_line(self.event)}")
        if self.id is not None:
            lines.append(f"id: {_single_line(self.id)}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        # NOTE: SSE ends a line at CR, LF or CRLF only (str.splitlines also splits on
        # U+2028 and friends, which would corrupt JSON and text).
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
        return ("\n".join(lines) + "\n\n").encode()


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"A server-sent event field cannot contain a line break: {value!r}")
    return value


class EventSourceResponse(StreamingResponse):
    """Server-sent events (``text/event-stream``) from an async iterator.

    Items may be ``ServerSentEvent``, ``str`` or JSON-able data; a comment is sent every
    ``ping`` seconds so proxies keep the connection open::

        async def ticks():
            for n in range(3):
                yield {"tick": n}
                await asyncio.sleep(1)

        return EventSourceResponse(ticks())
    """

    #: Sent as ``Content-Type: text/event-stream``, which ``EventSource`` requires.
    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterable[Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        ping: float | None = 15.0,
    ) -> None:
        self.ping = ping
        base = {"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})}
        super().__init__(self._encode(events), status=status, headers=base)

    async def _encode(self, events: AsyncIterable[Any]) -> AsyncIterator[bytes]:
        iterator = aiter(events)
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                done, _ = await asyncio.wait({pending}, timeout=self.ping)
                if not done:
                    yield b": ping\n\n"
                    continue
                try:
                    item = pending.result()
                except StopAsyncIteration:
                    return
                finally:
                    pending = None if done else pending
                event = item if isinstance(item, ServerSentEvent) else ServerSentEvent(item)
                yield event.encode()
        finally:
            if pending is not None:
                pending.cancel()


__all__ = ["EventSourceResponse", "ServerSentEvent", "StreamingResponse"]
