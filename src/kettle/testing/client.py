"""httpx clients wired straight to a Kettle (or any ASGI) app."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from kettle.app import App

T = TypeVar("T")
BASE_URL = "http://testserver"


class _LoopThread:
    """An event loop running in a daemon thread, so sync tests can drive an async app."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="kettle-test"
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any, loop: _LoopThread, client: tuple[str, int]) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(request)
            # The raw bytes, still encoded as the headers say; httpx decodes them once.
            stream = response.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            body = b"".join([chunk async for chunk in stream])
            return response.status_code, response.headers.raw, body

        status, headers, body = self._loop.run(call())
        return httpx.Response(status, headers=headers, content=body, request=request)


class TestClient(httpx.Client):
    """A synchronous httpx client for ``app``; use it as a context manager to run the
    app's start-up and shut-down hooks.

    ::

        with TestClient(app) as client:
            response = client.post("/api/articles", json={"title": "Hi"})
            assert response.status_code == 201
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: App | Any,
        base_url: str = BASE_URL,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        **kwargs: Any,
    ) -> None:
        self.app = app
        self._loop = _LoopThread()
        transport = _SyncASGITransport(app, self._loop, client)
        super().__init__(transport=transport, base_url=base_url, **kwargs)
        self._started = False

    def __enter__(self) -> Self:
        super().__enter__()
        if isinstance(self.app, App):
            try:
                self._loop.run(self.app.startup())
            except BaseException:
                self.close()
                raise
            self._started = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._started:
                self._loop.run(self.app.shutdown())
                self._started = False
        finally:
            super().__exit__(exc_type, exc_value, traceback)
            self._loop.close()

    def close(self) -> None:
        """Close the connection pool and stop the event-loop thread."""
        super().close()
        self._loop.close()


class AsyncTestClient(httpx.AsyncClient):
    """An async httpx client for ``app``; ``async with`` runs start-up and shut-down.

    ::

        async with AsyncTestClient(app) as client:
            assert (await client.get("/")).status_code == 200
    """

    __test__ = False

    def __init__(
        self,
        app: App | Any,
        base_url: str = BASE_URL,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        **kwargs: Any,
    ) -> None:
        self.app = app
        transport = httpx.ASGITransport(app=app, client=client)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if isinstance(self.app, App):
            await self.app.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if isinstance(self.app, App):
                await self.app.shutdown()
        finally:
            await super().__aexit__(exc_type, exc_value, traceback)
