"""httpx clients wired straight to a Kettle (or any ASGI) app.

A client made for an ``App`` whose settings were not given (``App()``) switches it to
the testing environment, unless ``KETTLE_ENV`` is set: ``TestClient(app)`` then works in
a plain ``python`` session as in pytest, with no secret key to configure.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Self

import httpx

from kettle.app import App
from kettle.testing import _login
from kettle.testing._async_websocket import AsyncWebSocketSession, websocket_scope
from kettle.testing._transport import AsyncTransport, LoopThread, SyncTransport
from kettle.testing._websocket import WebSocketSession
from kettle.testing.responses import TestResponse

BASE_URL = "http://testserver"
CLIENT = ("127.0.0.1", 50000)


def use_testing_settings(app: Any) -> None:
    """Give ``app`` testing settings if it loaded its own and has not started yet (see the
    module docstring); an app given ``settings=`` keeps them::

        use_testing_settings(app)   # what TestClient(app) does first
    """
    if not isinstance(app, App) or not app._default_settings or "config" in vars(app):
        return
    if "KETTLE_ENV" in os.environ:
        return  # chosen on purpose (the pytest plugin sets testing)
    app.settings = type(app.settings).load(env="testing")


class TestClient(httpx.Client):
    """A synchronous httpx client for ``app``; use it as a context manager to run the
    app's start-up and shut-down hooks.

    Form posts (any POST, PUT, PATCH, DELETE) get the session's CSRF token when they
    carry none; ``enforce_csrf=True`` sends requests exactly as written, so the check
    refuses them as it would a browser's. ``root_path="/news"`` serves the app as a
    server behind a proxy's ``/news`` prefix would (ask for ``/news/...``). Responses are
    ``TestResponse``\\ s::

        with TestClient(app) as client:
            response = client.post("/notes/new", data={"text": ""})
            assert response.status_code == 422
            assert response.template == "new_note.html"
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: App | Any,
        base_url: str = BASE_URL,
        client: tuple[str, int] = CLIENT,
        *,
        enforce_csrf: bool = False,
        root_path: str = "",
        **kwargs: Any,
    ) -> None:
        use_testing_settings(app)
        self.app = app
        self._loop = LoopThread()
        self._testing_transport = SyncTransport(app, self._loop, client, enforce_csrf, root_path)
        super().__init__(transport=self._testing_transport, base_url=base_url, **kwargs)
        self._started = False
        self._client_address = client

    @property
    def enforce_csrf(self) -> bool:
        """Whether requests go as written (True) or get the session's CSRF token when they
        carry none (False, the default); may be switched on a client in use::

            client.enforce_csrf = True
        """
        return self._testing_transport.enforce_csrf

    @enforce_csrf.setter
    def enforce_csrf(self, value: bool) -> None:
        self._testing_transport.enforce_csrf = value

    # Typed as TestResponse (the transport makes every response one), so that tests
    # read response.template and response.context with no cast.
    def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """Send a request, as ``httpx.Client.request``; returns a ``TestResponse``."""
        response = super().request(method, url, **kwargs)
        assert isinstance(response, TestResponse)
        return response

    def get(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``GET`` ``url``, with httpx's arguments."""
        return self.request("GET", url, **kwargs)

    def options(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``OPTIONS`` ``url``, with httpx's arguments."""
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``HEAD`` ``url``, with httpx's arguments."""
        return self.request("HEAD", url, **kwargs)

    def post(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``POST`` ``url``, with httpx's arguments."""
        return self.request("POST", url, **kwargs)

    def put(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``PUT`` ``url``, with httpx's arguments."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``PATCH`` ``url``, with httpx's arguments."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``DELETE`` ``url``, with httpx's arguments."""
        return self.request("DELETE", url, **kwargs)

    def websocket_connect(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        max_queue: int | None = None,
    ) -> WebSocketSession:
        """Open a WebSocket to the app, with the client's cookies; use it in a ``with``
        (a refused handshake raises ``WebSocketDenied``)::

            with client.websocket_connect("/echo") as ws:
                ws.send_text("hi")
                assert ws.receive_text() == "hi"

        ``timeout`` bounds each wait for the app; ``max_queue`` unread messages make the
        app's sends wait, as a client that stops reading does.
        """
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies.jar)
        scope = websocket_scope(
            url, str(self.base_url), self._client_address, headers or {}, cookie
        )
        session = AsyncWebSocketSession(self.app, scope, timeout=timeout, max_queue=max_queue)
        return WebSocketSession(session, self._loop)

    # --- kettle.auth --------------------------------------------------------------------
    def login(self, *, username: str, password: str) -> bool:
        """Sign in through the app's login page, as a user would; whether it worked::

        assert client.login(username="ann", password="tea-at-altitude-1865")
        """
        url = _login.auth_of(self.app).login_url
        page = self.get(url)
        data = {"username": username, "password": password, **_login.csrf_field(page.text)}
        return self.post(url, data=data).status_code in (302, 303)

    def force_login(self, user: Any) -> None:
        """Sign ``user`` in with no password and no request to the login page (``Auth``'s
        own login runs, whatever the session backend)::

            client.force_login(ann)
            assert client.get("/account").status_code == 200
        """
        self._loop.run(_login.force_login(self.app, user, self.cookies, self.base_url))

    def logout(self) -> None:
        """End the client's session, as the logout page does::

        client.logout()
        """
        self._loop.run(_login.logout(self.app, self.cookies, self.base_url))

    # --- start-up and shut-down -------------------------------------------------------------
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
    """An async httpx client for ``app``; ``async with`` runs start-up and shut-down. It
    fills in CSRF tokens and records templates as ``TestClient`` does::

        async with AsyncTestClient(app) as client:
            assert (await client.get("/")).status_code == 200
            await client.force_login(ann)
    """

    __test__ = False

    def __init__(
        self,
        app: App | Any,
        base_url: str = BASE_URL,
        client: tuple[str, int] = CLIENT,
        *,
        enforce_csrf: bool = False,
        root_path: str = "",
        **kwargs: Any,
    ) -> None:
        use_testing_settings(app)
        self.app = app
        self._testing_transport = AsyncTransport(app, client, enforce_csrf, root_path)
        super().__init__(transport=self._testing_transport, base_url=base_url, **kwargs)

    @property
    def enforce_csrf(self) -> bool:
        """Whether requests go as written (True) or get the session's CSRF token when they
        carry none (False, the default); may be switched on a client in use::

            client.enforce_csrf = True
        """
        return self._testing_transport.enforce_csrf

    @enforce_csrf.setter
    def enforce_csrf(self, value: bool) -> None:
        self._testing_transport.enforce_csrf = value

    async def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """Send a request, as ``httpx.AsyncClient.request``; returns a ``TestResponse``."""
        response = await super().request(method, url, **kwargs)
        assert isinstance(response, TestResponse)
        return response

    async def get(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``GET`` ``url``, with httpx's arguments."""
        return await self.request("GET", url, **kwargs)

    async def options(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``OPTIONS`` ``url``, with httpx's arguments."""
        return await self.request("OPTIONS", url, **kwargs)

    async def head(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``HEAD`` ``url``, with httpx's arguments."""
        return await self.request("HEAD", url, **kwargs)

    async def post(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``POST`` ``url``, with httpx's arguments."""
        return await self.request("POST", url, **kwargs)

    async def put(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``PUT`` ``url``, with httpx's arguments."""
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``PATCH`` ``url``, with httpx's arguments."""
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: httpx.URL | str, **kwargs: Any) -> TestResponse:
        """``DELETE`` ``url``, with httpx's arguments."""
        return await self.request("DELETE", url, **kwargs)

    def websocket_connect(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        max_queue: int | None = None,
    ) -> AsyncWebSocketSession:
        """``TestClient.websocket_connect`` for async tests: a connection to the app on the
        test's own loop, with the client's cookies; use it in an ``async with`` (a refused
        handshake raises ``WebSocketDenied``)::

            async with client.websocket_connect("/echo") as ws:
                await ws.send_text("hi")
                assert await ws.receive_text() == "hi"
        """
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies.jar)
        client = self._testing_transport.client
        scope = websocket_scope(url, str(self.base_url), client, headers or {}, cookie)
        return AsyncWebSocketSession(self.app, scope, timeout=timeout, max_queue=max_queue)

    async def login(self, *, username: str, password: str) -> bool:
        """``TestClient.login`` for async tests."""
        url = _login.auth_of(self.app).login_url
        page = await self.get(url)
        data = {"username": username, "password": password, **_login.csrf_field(page.text)}
        return (await self.post(url, data=data)).status_code in (302, 303)

    async def force_login(self, user: Any) -> None:
        """``TestClient.force_login`` for async tests."""
        await _login.force_login(self.app, user, self.cookies, self.base_url)

    async def logout(self) -> None:
        """``TestClient.logout`` for async tests."""
        await _login.logout(self.app, self.cookies, self.base_url)

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


__all__ = ["AsyncTestClient", "TestClient", "use_testing_settings"]
