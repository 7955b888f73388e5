"""WebSockets in the test client: the app runs on the client's loop thread and the test
talks to it through two queues, as a server and a browser would over the wire."""

from __future__ import annotations

import asyncio
import queue
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

from kettle._types import Message
from kettle.websockets import WebSocketDisconnect

if TYPE_CHECKING:
    from kettle.testing._transport import LoopThread


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


class WebSocketSession:
    """A WebSocket connection of ``TestClient.websocket_connect``, used in a ``with``::

        with client.websocket_connect("/echo") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "hi"

    ``max_queue`` plays a client that stops reading: once that many messages wait
    unread, the app's sends wait too (None: never).
    """

    __test__ = False

    def __init__(
        self,
        app: Any,
        loop: LoopThread,
        scope: dict[str, Any],
        *,
        timeout: float = 5.0,
        max_queue: int | None = None,
    ) -> None:
        self._app = app
        self._loop = loop
        self._scope = scope
        self.timeout = timeout
        self._max_queue = max_queue
        self._to_app: asyncio.Queue[Message] | None = None
        self._from_app: queue.Queue[Message] = queue.Queue()
        self._room: asyncio.Event | None = None
        self._task: Future[None] | None = None
        self._app_closed = False
        #: The subprotocol the app chose in ``accept``, if any.
        self.subprotocol: str | None = None
        #: The headers the app added to its ``accept``.
        self.headers: dict[str, str] = {}
        #: The code the app closed with; None while open.
        self.close_code: int | None = None
        #: The reason the app gave when it closed.
        self.close_reason = ""

    # --- the app's side ----------------------------------------------------------------
    async def _start(self) -> None:
        self._to_app = asyncio.Queue()
        self._room = asyncio.Event()
        self._to_app.put_nowait({"type": "websocket.connect"})

    async def _receive(self) -> Message:
        assert self._to_app is not None
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        assert self._room is not None
        assert self._to_app is not None
        limit = self._max_queue
        closing = message["type"] == "websocket.close"
        # NOTE: a close frame gets through a full buffer, as a server's close timeout would.
        while limit is not None and not closing and self._from_app.qsize() >= limit:
            self._room.clear()
            await self._room.wait()
        self._from_app.put(dict(message))
        if closing:
            self._app_closed = True
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": message["code"]})

    async def _serve(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        finally:
            if not self._app_closed:  # the app ended without a close: the line drops
                self._from_app.put({"type": "websocket.close", "code": 1006})

    def _to(self, message: Message) -> None:
        queue_ = self._to_app
        assert queue_ is not None
        self._loop.loop.call_soon_threadsafe(queue_.put_nowait, message)

    # --- the test's side ---------------------------------------------------------------
    def __enter__(self) -> Self:
        self._loop.run(self._start())
        self._task = asyncio.run_coroutine_threadsafe(self._serve(), self._loop.loop)
        first = self._next()
        if first["type"] == "websocket.accept":
            self.subprotocol = first.get("subprotocol")
            self.headers = decode_headers(first.get("headers") or [])
            return self
        self._wait()
        if first["type"] == "websocket.close":
            raise WebSocketDenied(403, {}, b"")
        headers = decode_headers(first.get("headers") or [])
        body = b""
        while True:
            part = self._next()
            body += part.get("body", b"")
            if not part.get("more_body"):
                break
        raise WebSocketDenied(first["status"], headers, body)

    def _next(self) -> Message:
        try:
            message = self._from_app.get(timeout=self.timeout)
        except queue.Empty:
            self._raise_failure()
            raise TimeoutError(
                f"The app sent nothing on the WebSocket within {self.timeout} s."
            ) from None
        room = self._room
        if room is not None:
            self._loop.loop.call_soon_threadsafe(room.set)
        return message

    def _raise_failure(self) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # re-raises what the app raised

    def _wait(self) -> None:
        if self._task is not None:
            self._task.result(timeout=self.timeout)

    def receive(self) -> str | bytes:
        """The app's next message: ``str`` for text, ``bytes`` for binary; raises
        ``WebSocketDisconnect`` (with the app's code and reason) when it closed."""
        if self.close_code is not None:
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        message = self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    def receive_text(self) -> str:
        """The next message, which must be text."""
        data = self.receive()
        assert isinstance(data, str), f"expected a text message, got {data!r}"
        return data

    def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        data = self.receive()
        assert isinstance(data, bytes), f"expected a binary message, got {data!r}"
        return data

    def receive_json(self) -> Any:
        """The next message decoded from JSON."""
        import json

        return json.loads(self.receive())

    def send_text(self, text: str) -> None:
        """Send a text message to the app."""
        self._to({"type": "websocket.receive", "text": text})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self._to({"type": "websocket.receive", "bytes": data})

    def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        import json

        self.send_text(json.dumps(value))

    def close(self, code: int = 1000) -> None:
        """Close from the client's side and wait for the handler to finish."""
        if self.close_code is None:
            self.close_code = code
            self._to({"type": "websocket.disconnect", "code": code})
        self._wait()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


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
