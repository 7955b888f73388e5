"""The test clients and the pytest plugin's fixtures."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kettle import App, Request, Response, Settings
from kettle.exceptions import ConfigurationError
from kettle.testing import AsyncTestClient, TestClient


def make_app(root: Path, events: list[str]) -> App:
    """An app that records its lifespan, start-up and shut-down in ``events``."""
    app = App(root=root, settings=Settings.load(env_file=None, environ={}, env="testing"))

    @app.lifespan
    @contextlib.asynccontextmanager
    async def resources(app: App) -> AsyncIterator[None]:
        events.append("lifespan enter")
        app.state.pool = "open"
        yield
        events.append("lifespan exit")

    @app.on_startup
    def start_sync() -> None:
        events.append("startup sync")

    @app.on_startup
    async def start_async() -> None:
        events.append("startup async")

    @app.on_shutdown
    async def stop() -> None:
        events.append("shutdown")

    @app.get("/")
    def index(request: Request) -> dict[str, Any]:
        return {
            "url": request.url,
            "client": request.client.host if request.client else None,
            "pool": getattr(request.app.state, "pool", None),
        }

    @app.get("/login")
    def login() -> Response:
        response = Response("welcome")
        response.set_cookie("user", "ann", httponly=True)
        return response

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        return {"user": request.cookies.get("user")}

    return app


def loop_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "kettle-test" and t.is_alive()}


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def app(tmp_path: Path, events: list[str]) -> App:
    return make_app(tmp_path, events)


# --- TestClient ---------------------------------------------------------------------------
def test_context_manager_runs_startup_and_shutdown(app: App, events: list[str]) -> None:
    with TestClient(app) as client:
        assert events == ["lifespan enter", "startup sync", "startup async"]
        assert client.get("/").json()["pool"] == "open"

    assert events == [
        "lifespan enter",
        "startup sync",
        "startup async",
        "shutdown",
        "lifespan exit",
    ]


def test_works_without_with_and_runs_no_hooks(app: App, events: list[str]) -> None:
    client = TestClient(app)
    try:
        body = client.get("/").json()
    finally:
        client.close()

    assert body["pool"] is None
    assert body["url"] == "http://testserver/"
    assert events == []


def test_each_with_block_starts_the_app_again(app: App, events: list[str]) -> None:
    for _ in range(2):
        with TestClient(app) as client:
            assert client.get("/").status_code == 200

    assert events.count("startup sync") == 2
    assert events.count("lifespan exit") == 2


def test_cookies_persist_between_requests(app: App) -> None:
    with TestClient(app) as client:
        assert client.get("/whoami").json() == {"user": None}
        client.get("/login")

        assert client.cookies["user"] == "ann"
        assert client.get("/whoami").json() == {"user": "ann"}


def test_client_address_and_base_url(app: App) -> None:
    with TestClient(app, base_url="https://example.test", client=("10.1.2.3", 1234)) as client:
        # The Host must be allowed; the testing defaults allow "testserver" only.
        assert client.get("/").status_code == 400
        body = client.get("/", headers={"host": "testserver"}).json()

    assert body["client"] == "10.1.2.3"
    assert body["url"] == "https://testserver/"


def test_default_client_address(client: TestClient) -> None:
    assert client.get("/").json()["client"] == "127.0.0.1"


def test_failing_startup_raises_from_with(tmp_path: Path) -> None:
    app = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="testing"))

    @app.on_startup
    def broken() -> None:
        raise RuntimeError("database unreachable")

    with pytest.raises(RuntimeError, match="database unreachable"), TestClient(app):
        pass


def test_drives_any_asgi_app() -> None:
    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = f"{scope['method']} {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with TestClient(plain) as client:
        assert client.post("/raw").text == "POST /raw"


def test_handler_errors_become_500_responses(tmp_path: Path) -> None:
    app = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="testing"))

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("boom")

    with TestClient(app) as client:
        response = client.get("/boom")

    assert response.status_code == 500
    assert "boom" not in response.text


def test_closing_a_with_client_stops_its_loop_thread(app: App) -> None:
    before = loop_threads()
    with TestClient(app) as client:
        client.get("/")
        assert len(loop_threads() - before) == 1

    assert loop_threads() - before == set()


def test_closing_a_client_used_without_with_stops_its_loop_thread(app: App) -> None:
    before = loop_threads()
    client = TestClient(app)
    client.get("/")
    client.close()

    assert loop_threads() - before == set()


def test_failed_startup_leaves_no_loop_thread(tmp_path: Path) -> None:
    app = App(root=tmp_path, settings=Settings.load(env_file=None, environ={}, env="production"))
    before = loop_threads()

    with pytest.raises(ConfigurationError), TestClient(app):
        pass

    assert loop_threads() - before == set()


# --- AsyncTestClient --------------------------------------------------------------------------
@pytest.mark.anyio
async def test_async_client_runs_startup_and_shutdown(app: App, events: list[str]) -> None:
    async with AsyncTestClient(app) as client:
        assert events == ["lifespan enter", "startup sync", "startup async"]
        assert (await client.get("/")).json()["pool"] == "open"

    assert events[-2:] == ["shutdown", "lifespan exit"]


@pytest.mark.anyio
async def test_async_client_without_with(app: App, events: list[str]) -> None:
    client = AsyncTestClient(app)
    try:
        response = await client.get("/")
    finally:
        await client.aclose()

    assert response.status_code == 200
    assert response.json()["pool"] is None
    assert events == []


@pytest.mark.anyio
async def test_async_client_keeps_cookies(app: App) -> None:
    async with AsyncTestClient(app) as client:
        await client.get("/login")

        assert (await client.get("/whoami")).json() == {"user": "ann"}


# --- the pytest plugin ------------------------------------------------------------------------
def test_plugin_sets_the_testing_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env in the working directory

    assert os.environ["KETTLE_ENV"] == "testing"
    assert Settings.load().env == "testing"
    assert App(root=tmp_path).settings.env == "testing"


def test_client_fixture_is_started(client: TestClient, events: list[str]) -> None:
    assert isinstance(client, TestClient)
    assert events == ["lifespan enter", "startup sync", "startup async"]
    assert client.get("/").json()["pool"] == "open"


@pytest.mark.anyio
async def test_async_client_fixture_is_started(
    async_client: AsyncTestClient, events: list[str]
) -> None:
    assert isinstance(async_client, AsyncTestClient)
    assert "startup async" in events
    assert (await async_client.get("/")).json()["pool"] == "open"
