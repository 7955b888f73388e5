"""WebSocket connections: the object a ``@app.websocket`` handler talks through.

::

    @app.websocket("/echo")
    async def echo(ws: WebSocket):
        async for text in ws.iter(str):
            await ws.send_text(text)

A ``WebSocket`` is the handshake's ``Request`` too (headers, cookies, query, session,
``user``), so the app's ``before_request`` hooks and kettle.auth run for it. Messages
are read one at a time within ``WebSocketOptions`` limits. A send goes to the server at
once when nothing waits before it, else into a bounded buffer that a separate task
drains; a client that stops reading is closed instead of holding the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

from kettle._types import Message, Receive, Scope, Send
from kettle.requests import Request

if TYPE_CHECKING:
    from kettle.app import App

T = TypeVar("T")

#: Close codes (RFC 6455 section 7.4.1) Kettle sends.
NORMAL, GOING_AWAY, UNSUPPORTED, ABNORMAL, INVALID_DATA, POLICY, TOO_BIG, SERVER_ERROR = (
    1000,
    1001,
    1003,
    1006,
    1007,
    1008,
    1009,
    1011,
)
_CONNECTING, _OPEN, _CLOSED = 0, 1, 2
_current_task: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]
if sys.version_info < (3, 12):
    # PERF: asyncio.current_task is Python code on 3.11 (0.2 µs, a third of a receive);
    # its table, read directly, is one dict lookup. 3.12 made current_task C code.
    _current_task = getattr(asyncio.tasks, "_current_tasks").get  # noqa: B009
else:
    _current_task = asyncio.current_task


class WebSocketDisconnect(Exception):
    """The connection is closed: by the client, or by Kettle after a bad message.

    ``receive`` and ``send`` raise it; a handler may let it propagate (Kettle ends the
    connection quietly) or catch it to clean up::

        try:
            async for text in ws.iter(str):
                ...
        except WebSocketDisconnect as gone:
            log.info("left with %s", gone.code)
    """

    def __init__(self, code: int = NORMAL, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with {code}" + (f": {reason}" if reason else ""))
        #: The close code (``1000`` normal, ``1001`` going away, ``1009`` too big...).
        self.code = code
        #: Why, in words (may be empty).
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class WebSocketOptions:
    """Limits of a WebSocket route, set on the app, a group or one route (the nearest
    wins)::

        app.websocket_options = WebSocketOptions(idle_timeout=300)

        @app.websocket("/upload", options=WebSocketOptions(max_message_size=8 << 20))
        async def upload(ws: WebSocket): ...
    """

    #: The largest message accepted, in bytes; a bigger one closes with 1009.
    max_message_size: int = 1 << 20
    #: Seconds a handler may wait in ``receive`` for a message; then the socket is
    #: closed with 1000. None waits for ever (servers still ping dead peers away).
    idle_timeout: float | None = None
    #: Messages that may wait to be written to a client; past it, ``send_*`` waits.
    send_buffer: int = 64
    #: Seconds ``send_*`` waits for the client to take a message, or for room in a full
    #: buffer, before the client, which is not reading, is closed with 1008.
    send_timeout: float = 10.0
    #: Origins (``"https://app.example.com"``) allowed besides the app's own host, its
    #: ``allowed_hosts`` and ``csrf_trusted_origins``; ``("*",)`` turns the check off.
    origins: tuple[str, ...] = ()


class WebSocket(Request):
    """One WebSocket connection; also the handshake request (``ws.headers``,
    ``ws.cookies``, ``ws.query``, ``ws.path_params``, ``ws.session``, ``ws.user``).

    Handlers receive it by declaring a parameter typed ``WebSocket``; reading or sending
    accepts the connection if ``accept()`` was not called::

        @app.websocket("/rooms/<int:room>")
        async def room(ws: WebSocket, room: int):
            await ws.accept()
            async for msg in ws.iter(Chat):
                await ws.send_json({"room": room, "said": msg.text})
    """

    __slots__ = (
        "_busy",
        "_interrupted",
        "_loop",
        "_queue",
        "_reader",
        "_send",
        "_sender",
        "_since",
        "_stalled",
        "_status",
        "_waiter",
        "_watch",
        "_writer",
        "close_code",
        "options",
    )

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, app: App, options: WebSocketOptions
    ) -> None:
        super().__init__(scope, receive, app)
        self._send = send
        self._loop = asyncio.get_running_loop()
        #: The limits that apply to this connection.
        self.options = options
        self._status = _CONNECTING
        self._queue: asyncio.Queue[Message] = asyncio.Queue(options.send_buffer)
        self._writer: asyncio.Task[None] | None = None
        # Sends go one at a time: _busy while one is under way; the task sending its
        # own message (_sender, since _since) hands over to the writer (_waiter) after.
        self._busy = False
        self._sender: asyncio.Task[Any] | None = None
        self._since = 0.0
        self._stalled = False
        self._waiter: asyncio.Future[None] | None = None
        self._watch: asyncio.TimerHandle | None = None
        # The task waiting in the server's receive (_reader), and why it was stopped
        # (_interrupted): see _interrupt.
        self._reader: asyncio.Task[Any] | None = None
        self._interrupted: str | None = None
        #: The code the connection closed with; None while it is open.
        self.close_code: int | None = None

    @property
    def method(self) -> str:
        """Always ``GET``: the handshake is a GET request."""
        return "GET"

    @property
    def accepted(self) -> bool:
        """True once the handshake is complete (``accept()`` ran)."""
        return self._writer is not None

    @property
    def closed(self) -> bool:
        """True once either side closed the connection."""
        return self._status == _CLOSED

    def stream(self) -> AsyncIterator[bytes]:
        """A WebSocket has no request body: read messages with ``receive``."""
        raise TypeError("A WebSocket has no request body; read messages with ws.receive().")

    # --- the handshake ---------------------------------------------------------------------
    async def accept(
        self, subprotocol: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Complete the handshake, choosing one of ``ws.subprotocols`` if the client
        offered some: ``await ws.accept("chat.v1")``."""
        if self._status != _CONNECTING:
            return
        message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await self._send(message)
        self._status = _OPEN
        self._writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    # --- receiving -------------------------------------------------------------------------
    async def _next(self) -> str | bytes:
        if self._status == _CONNECTING:
            await self.accept()
        if self._status == _CLOSED:
            raise WebSocketDisconnect(self.close_code or NORMAL)
        idle = self.options.idle_timeout
        # PERF: a task lookup and two stores per message, so that a close from another
        # task can stop this wait (see _interrupt); the try costs nothing.
        self._reader = reader = _current_task(self._loop)
        try:
            if idle is None:  # PERF: no timer per message when there is no idle limit
                message = await self._receive()
            else:
                try:
                    async with asyncio.timeout(idle):
                        message = await self._receive()
                except TimeoutError:
                    reason = f"No message for {idle:g} s (idle_timeout)."
                    await self.close(NORMAL, reason)
                    raise WebSocketDisconnect(NORMAL, reason) from None
        except asyncio.CancelledError:
            why = self._interrupted
            if why is not None and reader is not None and reader.uncancel() == 0:
                raise WebSocketDisconnect(self.close_code or NORMAL, why) from None
            raise
        finally:
            self._reader = None
        kind = message["type"]
        if kind == "websocket.disconnect":
            self._closed(message.get("code", NORMAL))
            raise WebSocketDisconnect(self.close_code or NORMAL, message.get("reason") or "")
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        limit = self.options.max_message_size
        # PERF: a text is at most 4 bytes a character; only long ones are encoded to count.
        if len(data) > limit or (
            isinstance(data, str) and len(data) * 4 > limit and len(data.encode()) > limit
        ):
            await self._refuse(
                TOO_BIG, f"Messages are limited to {limit} bytes (max_message_size)."
            )
        return data

    async def receive(self) -> str | bytes:
        """The next message as sent: ``str`` for a text frame, ``bytes`` for a binary one."""
        return await self._next()

    async def receive_text(self) -> str:
        """The next message, which must be text (a binary one closes with 1003)."""
        data = await self._next()
        if not isinstance(data, str):
            await self._refuse_kind(str)
        return data

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary (a text one closes with 1003)."""
        data = await self._next()
        if not isinstance(data, bytes):
            await self._refuse_kind(bytes)
        return data

    async def receive_json(self, type: type[T] | Any = Any) -> T:
        """The next message decoded as JSON into ``type`` (a Struct, dataclass,
        ``dict[str, int]``...): malformed JSON or a value of the wrong shape closes the
        connection with 1007 and a reason that names the field::

            move = await ws.receive_json(Move)
        """
        import msgspec

        data = await self._next()
        try:
            return msgspec.json.decode(data, type=type)
        except Exception as exc:
            await self._refuse_json(exc)

    @overload
    def iter(self, type: None = None) -> AsyncIterator[str | bytes]: ...
    @overload
    def iter(self, type: type[T]) -> AsyncIterator[T]: ...
    async def iter(self, type: Any = None) -> AsyncIterator[Any]:
        """Every message until the connection closes: raw with no ``type``, text for
        ``str``, binary for ``bytes``, else decoded as ``receive_json(type)`` does (a bad
        message closes the connection, which ends the loop)::

            async for msg in ws.iter(Chat):
                ...
        """
        # PERF: one loop per kind of message, reading with _next directly, and one JSON
        # decoder for the whole connection: no coroutine nor type lookup per message.
        if type is None or type is str or type is bytes:
            while True:
                try:
                    data = await self._next()
                    if type is not None and not isinstance(data, type):
                        await self._refuse_kind(type)
                    yield data
                except WebSocketDisconnect:
                    return  # closed, by the client or for a bad message: the loop ends
        import msgspec

        decode = msgspec.json.Decoder(type).decode
        while True:
            try:
                data = await self._next()
                try:
                    value = decode(data)
                except Exception as exc:
                    await self._refuse_json(exc)
                yield value
            except WebSocketDisconnect:
                return

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self.iter()

    async def _refuse(self, code: int, reason: str) -> NoReturn:
        """Close with ``code`` for a bad message and stop the handler where it reads."""
        await self.close(code, reason)
        raise WebSocketDisconnect(code, reason)

    async def _refuse_kind(self, wanted: type[str | bytes]) -> NoReturn:
        """A binary message where text was expected, or the other way round: 1003."""
        if wanted is str:
            await self._refuse(UNSUPPORTED, "Expected a text message, got a binary one.")
        await self._refuse(UNSUPPORTED, "Expected a binary message, got a text one.")

    async def _refuse_json(self, exc: Exception) -> NoReturn:
        """A message ``msgspec`` could not decode (``exc``): 1007 with why; other errors
        propagate."""
        import msgspec

        if isinstance(exc, msgspec.ValidationError):
            await self._refuse(INVALID_DATA, f"Invalid message: {exc}.")
        if isinstance(exc, (msgspec.DecodeError, UnicodeDecodeError, RecursionError)):
            await self._refuse(INVALID_DATA, f"The message is not valid JSON: {exc}.")
        raise exc

    # --- sending ---------------------------------------------------------------------------
    async def send_text(self, text: str) -> None:
        """Send a text message; waits while the send buffer is full (see
        ``WebSocketOptions.send_timeout``)."""
        await self._put({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._put({"type": "websocket.send", "bytes": data})

    async def send_json(self, value: Any) -> None:
        """Send ``value`` (dicts, lists, Structs, dataclasses...) as a JSON text message."""
        import msgspec

        await self._put({"type": "websocket.send", "text": msgspec.json.encode(value).decode()})

    def send_nowait(self, message: str | bytes) -> bool:
        """Queue a message without waiting (what broadcasts use); a full buffer closes
        the connection with 1008 and returns False, as does a closed one."""
        if self._status == _CLOSED:
            return False
        key = "text" if isinstance(message, str) else "bytes"
        try:
            self._queue.put_nowait({"type": "websocket.send", key: message})
        except asyncio.QueueFull:
            asyncio.get_running_loop().create_task(self._abort())
            return False
        return True

    async def _put(self, message: Message) -> None:
        if self._status != _OPEN:
            if self._status == _CONNECTING:
                await self.accept()
            if self._status == _CLOSED:
                raise WebSocketDisconnect(self.close_code or NORMAL)
        if not self._busy and self._queue.empty():
            await self._send_now(message)
            return
        try:
            # PERF: put_nowait first: the buffer is rarely full, and waiting costs a timer.
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            try:
                async with asyncio.timeout(self.options.send_timeout):
                    await self._queue.put(message)
            except TimeoutError:
                await self._abort()
                raise WebSocketDisconnect(POLICY, _SLOW) from None

    async def _send_now(self, message: Message) -> None:
        """Send from the caller's task: nothing waits in the buffer, nothing is being sent.

        A send the client does not take within ``send_timeout`` closes it with 1008, as
        a full buffer does; messages queued meanwhile wait for this one (order is kept).
        """
        # PERF: handing each message to the writer task cost a trip round the event loop,
        # about half of an echo's time in Kettle; the writer only drains what queues up
        # while a send is under way (broadcasts, a client slower than the handler). The
        # stall check is one timer per send_timeout, not one per message.
        self._busy = True
        loop = self._loop
        self._sender = task = asyncio.current_task(loop)
        self._since = loop.time()
        if self._watch is None:
            self._watch = loop.call_at(self._since + self.options.send_timeout, self._check)
        try:
            await self._send(message)
        except asyncio.CancelledError:
            if self._stalled and task is not None and task.uncancel() == 0:
                raise WebSocketDisconnect(POLICY, _SLOW) from None
            raise
        except Exception:  # the server says the client is gone (each says it its way)
            self._closed(ABNORMAL)
            raise WebSocketDisconnect(ABNORMAL) from None
        finally:
            self._sender = None
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)  # the writer's turn: _busy stays set for it
            else:
                self._busy = False
            self._waiter = None

    def _check(self) -> None:
        """The send timer: a send under way for ``send_timeout`` means a client that does
        not read, which is closed (1008); else look again when the current send is due."""
        self._watch = None
        if self._sender is None or self._status == _CLOSED:
            return  # re-armed by the next send
        due = self._since + self.options.send_timeout
        if self._loop.time() < due:
            self._watch = self._loop.call_at(due, self._check)
        else:
            self._loop.create_task(self._abort())

    async def _write(self) -> None:
        """Drain the send buffer into the server, one message at a time, after any send
        a handler's task has under way."""
        while True:
            message = await self._queue.get()
            if self._busy:
                self._waiter = waiter = self._loop.create_future()
                await waiter  # _send_now hands over with _busy still set
            else:
                self._busy = True
            try:
                await self._send(message)
            except Exception:  # the server says the client is gone (each says it its way)
                self._closed(ABNORMAL)
                return
            finally:
                self._busy = False
            if message["type"] == "websocket.close":
                return

    # --- closing ---------------------------------------------------------------------------
    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Close the connection after the messages already sent; before ``accept()`` it
        refuses the handshake (servers answer 403)::

            await ws.close(4000, "Room is full")
        """
        if self._status == _CLOSED:
            return
        message: Message = {"type": "websocket.close", "code": code, "reason": _short(reason)}
        writer = self._writer
        self._closed(code)
        self._interrupt(message["reason"])
        if writer is None:
            await self._send(message)
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            writer.cancel()
            await self._send_close(message)
            return
        try:
            async with asyncio.timeout(self.options.send_timeout):
                await asyncio.shield(writer)
        except TimeoutError:
            writer.cancel()

    async def _abort(self) -> None:
        """Close a client that does not read: drop what waits and send the close."""
        if self._status == _CLOSED:
            return
        self._closed(POLICY)
        if self._writer is not None:
            self._writer.cancel()
        sender = self._sender
        if sender is not None and sender is not asyncio.current_task():
            self._stalled = True  # its send stops with WebSocketDisconnect(1008)
            sender.cancel()
        self._interrupt(_SLOW)
        await self._send_close({"type": "websocket.close", "code": POLICY, "reason": _SLOW})

    def _interrupt(self, reason: str) -> None:
        """Stop a wait in ``receive`` in another task (the handler's, when the server
        shuts down or a broadcast closes the socket): it raises WebSocketDisconnect
        with the close code and ``reason``::

            self._interrupt("The server is shutting down.")   # close() does this
        """
        # NOTE: Granian (2.8) sends nothing on a connection while a receive waits on it:
        # the close frame would wait for the client's next message (for ever, from a
        # quiet client). Cancelling the wait frees the connection. uvicorn needs no such
        # thing and loses nothing by it: no message is read after a close anyway.
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task(self._loop):
            self._interrupted = reason
            reader.cancel()

    async def _send_close(self, message: Message) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            async with asyncio.timeout(self.options.send_timeout):
                await self._send(message)

    async def _end(self) -> None:
        """The handler returned: let the writer finish sending a close another task
        started (at shut-down, say), then stop it if it still waits for messages."""
        writer = self._writer
        if writer is not None and not writer.done():
            if self._busy or not self._queue.empty():
                # NOTE: the app returning ends the connection: the server would drop it
                # before the close frame went out (uvicorn with none, Granian with 1005).
                await asyncio.wait((writer,), timeout=self.options.send_timeout)
            writer.cancel()
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _closed(self, code: int) -> None:
        if self._status != _CLOSED:
            self._status = _CLOSED
            self.close_code = code

    def __repr__(self) -> str:
        return f"<WebSocket {self.path}>"


class SyncWebSocket:
    """What a ``def`` WebSocket handler gets: the same methods, blocking, for code that
    runs in the thread pool (one thread per open connection)::

        @app.websocket("/echo")
        def echo(ws: SyncWebSocket):
            for text in ws.iter(str):
                ws.send_text(text)
    """

    def __init__(self, ws: WebSocket) -> None:
        #: The async connection underneath (its handshake attributes are read directly).
        self.ws = ws
        self._loop = ws._loop

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        # headers, query, cookies, session, user, path_params...: the handshake's
        return getattr(self.ws, name)

    def accept(self, subprotocol: str | None = None) -> None:
        """``WebSocket.accept``, blocking."""
        self._call(self.ws.accept(subprotocol))

    def receive(self) -> str | bytes:
        """``WebSocket.receive``, blocking."""
        return self._call(self.ws.receive())

    def receive_text(self) -> str:
        """``WebSocket.receive_text``, blocking."""
        return self._call(self.ws.receive_text())

    def receive_bytes(self) -> bytes:
        """``WebSocket.receive_bytes``, blocking."""
        return self._call(self.ws.receive_bytes())

    def receive_json(self, type: Any = Any) -> Any:
        """``WebSocket.receive_json``, blocking."""
        return self._call(self.ws.receive_json(type))

    def iter(self, type: type[T] | None = None) -> Iterator[T]:
        """``WebSocket.iter``, blocking: ``for msg in ws.iter(Chat): ...``."""
        messages: AsyncIterator[Any] = self.ws.iter(type)

        async def step() -> Any:
            return await anext(messages)

        while True:
            try:
                yield self._call(step())
            except StopAsyncIteration:
                return

    def send_text(self, text: str) -> None:
        """``WebSocket.send_text``, blocking."""
        self._call(self.ws.send_text(text))

    def send_bytes(self, data: bytes) -> None:
        """``WebSocket.send_bytes``, blocking."""
        self._call(self.ws.send_bytes(data))

    def send_json(self, value: Any) -> None:
        """``WebSocket.send_json``, blocking."""
        self._call(self.ws.send_json(value))

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        """``WebSocket.close``, blocking."""
        self._call(self.ws.close(code, reason))


_SLOW = "The client did not read its messages (send buffer full)."


def _short(reason: str) -> str:
    """A close reason fits in 123 bytes of UTF-8 (RFC 6455 5.5.1)."""
    data = reason.encode()
    if len(data) <= 123:
        return reason
    return data[:120].decode("utf-8", "ignore") + "..."


__all__ = ["SyncWebSocket", "WebSocket", "WebSocketDisconnect", "WebSocketOptions"]
