"""The test clients' plumbing: an event loop in a thread, and httpx transports that call
the app in process, tell it (through an ASGI extension) what the test client wants, and
hand back ``TestResponse`` objects that know which templates were rendered."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from kettle._types import TESTING_EXTENSION, Receive, Scope, Send
from kettle.testing.responses import Rendered, TestResponse

T = TypeVar("T")
#: Methods that change things: the client fills in their CSRF token unless asked not to.
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoopThread:
    """An event loop running in a daemon thread, so sync tests can drive an async app."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="kettle-test"
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        if self.loop.is_closed():
            coro.close()  # never started: no "was never awaited" warning
            raise RuntimeError(
                "The TestClient is closed, and its event loop with it: make requests and use "
                "its WebSockets inside `with TestClient(app) as client:`."
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _Recording:
    """The app, called with the test client's extension in its scope (see ``_types``)."""

    def __init__(self, app: Any, rendered: list[Rendered], fill_csrf: bool) -> None:
        self.app = app
        self.testing = {"rendered": rendered, "fill_csrf": fill_csrf}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), TESTING_EXTENSION: self.testing}
        await self.app(scope, receive, send)


async def call_app(
    app: Any,
    request: httpx.Request,
    client: tuple[str, int],
    enforce_csrf: bool,
    root_path: str = "",
) -> TestResponse:
    """Send ``request`` to ``app`` in process; the response is read in full. With a
    ``root_path``, the scope says it as a server under a proxy's prefix does (uvicorn's
    ``--root-path``): the path is the URL's, root path included."""
    headers = request.headers
    # A browser sends Origin with every form post; so does the client, when the test did
    # not choose one, so that HTTPS apps (which require it) accept the post.
    if not enforce_csrf and request.method in UNSAFE and not headers.keys() & {"origin", "referer"}:
        headers["origin"] = f"{request.url.scheme}://{request.url.netloc.decode()}"
    rendered: list[Rendered] = []
    # NOTE: a transport per request, cheap to make: it carries this request's record.
    transport = httpx.ASGITransport(
        app=_Recording(app, rendered, fill_csrf=not enforce_csrf),
        client=client,
        root_path=root_path,
    )
    response = await transport.handle_async_request(request)
    # The raw bytes, still encoded as the headers say; httpx decodes them once.
    stream = response.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    body = b"".join([chunk async for chunk in stream])
    result = TestResponse(
        response.status_code, headers=response.headers.raw, content=body, request=request
    )
    result.rendered = rendered
    return result


class SyncTransport(httpx.BaseTransport):
    """``TestClient``'s transport: each request runs on the client's loop thread."""

    def __init__(
        self,
        app: Any,
        loop: LoopThread,
        client: tuple[str, int],
        enforce_csrf: bool,
        root_path: str = "",
    ) -> None:
        self.app = app
        self.loop = loop
        self.client = client
        self.enforce_csrf = enforce_csrf
        self.root_path = root_path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        sent = call_app(self.app, request, self.client, self.enforce_csrf, self.root_path)
        return self.loop.run(sent)


class AsyncTransport(httpx.AsyncBaseTransport):
    """``AsyncTestClient``'s transport: each request runs on the test's own loop."""

    def __init__(
        self, app: Any, client: tuple[str, int], enforce_csrf: bool, root_path: str = ""
    ) -> None:
        self.app = app
        self.client = client
        self.enforce_csrf = enforce_csrf
        self.root_path = root_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return await call_app(self.app, request, self.client, self.enforce_csrf, self.root_path)
