"""WebSockets in the test clients: the app runs as a task on an event loop and the test
talks to it through two queues, as a server and a browser would over the wire.

``AsyncWebSocketSession`` is the one implementation. ``AsyncTestClient`` awaits it on the
test's own loop; ``TestClient``'s ``WebSocketSession`` (``_websocket``) runs the same
coroutines on the client's loop thread, so both clients behave alike to the letter."""

from __future__ import annotations

import asyncio
import json
from asyncio import FIRST_COMPLETED
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from kettle._types import Message
from kettle.websockets import WebSocketDisconnect


class WebSocketDenied(Exception):
    """The app refused the handshake; ``status_code``, ``headers`` and ``text`` are its
    HTTP answer (403 with an empty body when it closed before accepting)::

        with pytest.raises(WebSocketDenied) as denied:
            client.websocket_connect("/chat", headers={"origin": "https://evil.example"})
        assert denied.value.status_code == 403
    """

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"The WebSocket handshake was refused with {status_code}: {body[:200]!r}")
        #: The HTTP status of the refusal.
        self.status_code = status_code
        #: Its headers, names in lower case.
        self.headers = headers
        #: Its body, as bytes.
        self.content = body

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.content.decode("utf-8", "replace")


class AsyncWebSocketSession:
    """A WebSocket connection of ``AsyncTestClient.websocket_connect``, used in an
    ``async with``::

        async with client.websocket_connect("/echo") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "hi"

    ``max_queue`` plays a client that stops reading: once that many messages wait
    unread, the app's sends wait too (None: never).
    """

    __test__ = False

    def __init__(
        self,
        app: Any,
        scope: dict[str, Any],
        *,
        timeout: float = 5.0,
        max_queue: int | None = None,
    ) -> None:
        self._app = app
        self._scope = scope
        self.timeout = timeout
        self._max_queue = max_queue
        # NOTE: asyncio's queues and events bind to a loop on first use, not here, so
        # TestClient may make the session in the test's thread and run it on its loop's.
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._room = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._app_closed = False
        #: The subprotocol the app chose in ``accept``, if any.
        self.subprotocol: str | None = None
        #: The headers the app added to its ``accept``.
        self.headers: dict[str, str] = {}
        #: The code the app closed with (or the test's own, after ``close``); None while
        #: open.
        self.close_code: int | None = None
        #: The reason the app gave when it closed.
        self.close_reason = ""

    # --- the app's side ----------------------------------------------------------------
    async def _receive(self) -> Message:
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        limit = self._max_queue
        closing = message["type"] == "websocket.close"
        # NOTE: a close frame gets through a full buffer, as a server's close timeout would.
        while limit is not None and not closing and self._from_app.qsize() >= limit:
            self._room.clear()
            await self._room.wait()
        self._from_app.put_nowait(dict(message))
        if closing:
            self._app_closed = True
            code = message.get("code", 1000)
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": code})

    async def _serve(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        finally:
            if not self._app_closed:  # the app ended without a close: the line drops
                self._from_app.put_nowait({"type": "websocket.close", "code": 1006})

    # --- the test's side ---------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._serve(), name=f"websocket {self._scope['path']}")
        first = await self._next()
        if first["type"] == "websocket.accept":
            self.subprotocol = first.get("subprotocol")
            self.headers = decode_headers(first.get("headers") or [])
            return self
        if first["type"] == "websocket.close":
            await self._wait()
            raise WebSocketDenied(403, {}, b"")
        headers = decode_headers(first.get("headers") or [])
        body = b""
        while True:  # the refusal's body, read before waiting for the app to finish
            part = await self._next()
            body += part.get("body", b"")
            if not part.get("more_body"):
                break
        await self._wait()
        raise WebSocketDenied(first["status"], headers, body)

    async def _next(self) -> Message:
        """The app's next message, waiting at most ``timeout``; the app's own error when
        it failed before sending one."""
        task = self._task
        if task is None:
            raise RuntimeError(
                "The WebSocket is not open: use it inside `with client.websocket_connect(...) "
                "as ws:` (`async with` for AsyncTestClient)."
            )
        if not self._from_app.empty():
            message = self._from_app.get_nowait()
        else:
            getter = asyncio.ensure_future(self._from_app.get())
            await asyncio.wait({getter, task}, timeout=self.timeout, return_when=FIRST_COMPLETED)
            if getter.done():
                message = getter.result()
            else:
                getter.cancel()  # NOTE: a cancelled get leaves its message in the queue
                if task.done():
                    task.result()  # re-raises what the app raised
                if self._from_app.empty():
                    raise TimeoutError(
                        f"The app sent nothing on the WebSocket within {self.timeout} s."
                    )
                message = self._from_app.get_nowait()
        self._room.set()
        return message

    async def _wait(self) -> None:
        """Wait for the app to finish (at most ``timeout``) and raise what it raised."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.timeout)
        except TimeoutError:
            if self._task.done():
                raise
            raise TimeoutError(
                f"The app's WebSocket handler for {self._scope['path']} was still running "
                f"{self.timeout} s after the close; it should return once it receives "
                "websocket.disconnect (WebSocketDisconnect)."
            ) from None

    async def receive(self) -> str | bytes:
        """The app's next message: ``str`` for text, ``bytes`` for binary; raises
        ``WebSocketDisconnect`` (with the app's code and reason) when it closed."""
        if self.close_code is not None:
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code") or 1000
            self.close_reason = message.get("reason") or ""
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def receive_text(self) -> str:
        """The next message, which must be text."""
        data = await self.receive()
        assert isinstance(data, str), f"expected a text message, got {data!r}"
        return data

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        data = await self.receive()
        assert isinstance(data, bytes), f"expected a binary message, got {data!r}"
        return data

    async def receive_json(self) -> Any:
        """The next message decoded from JSON."""
        return json.loads(await self.receive())

    async def send_text(self, text: str) -> None:
        """Send a text message to the app."""
        self._to_app.put_nowait({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self._to_app.put_nowait({"type": "websocket.receive", "bytes": data})

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        await self.send_text(json.dumps(value))

    async def close(self, code: int = 1000) -> None:
        """Close from the client's side and wait for the handler to finish."""
        if self.close_code is None:
            self.close_code = code
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": code})
        await self._wait()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def decode_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """An ASGI message's headers as a dict, names in lower case."""
    return {name.decode().lower(): value.decode() for name, value in raw}


def websocket_scope(
    url: str, base_url: str, client: tuple[str, int], headers: dict[str, str], cookie: str
) -> dict[str, Any]:
    """The ASGI scope of a WebSocket handshake for ``url`` (a path, or a full URL)."""
    parts = urlsplit(url)
    base = urlsplit(base_url)
    host = parts.netloc or base.netloc
    raw = [(b"host", host.encode())]
    if cookie:
        raw.append((b"cookie", cookie.encode()))
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    secure = (parts.scheme or base.scheme) in ("https", "wss")
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss" if secure else "ws",
        "server": (base.hostname or "testserver", base.port or (443 if secure else 80)),
        "client": client,
        "root_path": "",
        "path": unquote(parts.path or "/"),
        "raw_path": (parts.path or "/").encode(),
        "query_string": parts.query.encode(),
        "headers": raw,
        "subprotocols": [p for p in protocols if p],
        "extensions": {"websocket.http.response": {}},
    }
