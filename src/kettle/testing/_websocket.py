"""WebSockets in ``TestClient``: the async test client's session (``_async_websocket``),
run on the client's event-loop thread, where the app runs too, and waited for by the test.

Every method is the async session's, run to its end there while the test's thread waits,
so both clients share one implementation: handshake, refusals, timeouts (measured on the
loop), close codes, and the app's own errors, raised in the test."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from kettle.testing._async_websocket import AsyncWebSocketSession

if TYPE_CHECKING:
    from kettle.testing._transport import LoopThread


class WebSocketSession:
    """A WebSocket connection of ``TestClient.websocket_connect``, used in a ``with``::

        with client.websocket_connect("/echo") as ws:
            ws.send_text("hi")
            assert ws.receive_text() == "hi"

    ``max_queue`` plays a client that stops reading: once that many messages wait
    unread, the app's sends wait too (None: never). The connection is ``session``,
    ``AsyncTestClient``'s kind, driven on ``loop``: the thread where the client runs the app.
    """

    __test__ = False

    def __init__(self, session: AsyncWebSocketSession, loop: LoopThread) -> None:
        self._session = session
        self._loop = loop

    @property
    def timeout(self) -> float:
        """How long, in seconds, each wait for the app may last (5 by default)::

        ws.timeout = 0.5
        """
        return self._session.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._session.timeout = value

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the app chose in ``accept``, if any::

        assert ws.subprotocol == "chat.v1"
        """
        return self._session.subprotocol

    @property
    def headers(self) -> dict[str, str]:
        """The headers the app added to its ``accept``, names in lower case::

        assert ws.headers["x-room"] == "7"
        """
        return self._session.headers

    @property
    def close_code(self) -> int | None:
        """The code the app closed with (or the test's own, after ``close``); None while
        open::

            assert ws.close_code is None
        """
        return self._session.close_code

    @property
    def close_reason(self) -> str:
        """The reason the app gave when it closed::

        assert ws.close_reason == "done"
        """
        return self._session.close_reason

    def __enter__(self) -> Self:
        self._loop.run(self._session.__aenter__())
        return self

    def receive(self) -> str | bytes:
        """The app's next message: ``str`` for text, ``bytes`` for binary; raises
        ``WebSocketDisconnect`` (with the app's code and reason) when it closed."""
        return self._loop.run(self._session.receive())

    def receive_text(self) -> str:
        """The next message, which must be text."""
        return self._loop.run(self._session.receive_text())

    def receive_bytes(self) -> bytes:
        """The next message, which must be binary."""
        return self._loop.run(self._session.receive_bytes())

    def receive_json(self) -> Any:
        """The next message decoded from JSON."""
        return self._loop.run(self._session.receive_json())

    def send_text(self, text: str) -> None:
        """Send a text message to the app."""
        self._loop.run(self._session.send_text(text))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message to the app."""
        self._loop.run(self._session.send_bytes(data))

    def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        self._loop.run(self._session.send_json(value))

    def close(self, code: int = 1000) -> None:
        """Close from the client's side and wait for the handler to finish."""
        self._loop.run(self._session.close(code))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
