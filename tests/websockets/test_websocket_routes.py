"""WebSocket routes in process: routing and converters, handlers of both kinds, the
handshake request (query, session, hooks), refusals and the test client."""

from __future__ import annotations

import msgspec
import pytest
import wsapp

from kettle import App, Group, Request
from kettle.exceptions import ConfigurationError
from kettle.settings import Settings
from kettle.testing import TestClient, WebSocketDenied
from kettle.websockets import SyncWebSocket, WebSocket, WebSocketDisconnect


class Hello(msgspec.Struct):
    text: str


def make_app() -> App:
    app = App(settings=Settings(env="testing"), templates=None, static=None)

    app.websocket("/echo")(wsapp.echo)  # the servers' echo, in process

    @app.websocket("/rooms/<int:room>")
    async def room(ws: WebSocket, room: int, nick: str = "anon") -> None:
        await ws.accept()
        await ws.send_json({"room": room, "nick": nick})

    @app.websocket("/sync")
    def sync_echo(ws: SyncWebSocket) -> None:
        for text in ws.iter(str):
            ws.send_text(text.upper())

    @app.get("/remember/<name>")
    def remember(request: Request, name: str) -> str:
        request.session["name"] = name
        return "ok"

    @app.websocket("/whoami")
    async def whoami(ws: WebSocket) -> None:
        await ws.send_json({"name": ws.session.get("name"), "hooked": ws.state.hooked})

    @app.before_request
    def mark(request: Request) -> None:
        request.state.hooked = True

    guarded = Group("guarded", prefix="/guarded")

    @guarded.before_request
    def refuse(request: Request) -> tuple[str, int]:
        return "members only", 403

    @guarded.websocket("/feed")
    async def feed(ws: WebSocket) -> None:
        await ws.send_text("never")

    app.include(guarded)

    @app.websocket("/chosen")
    async def chosen(ws: WebSocket) -> None:
        await ws.accept(ws.subprotocols[-1], headers={"x-room": "7"})
        await ws.close(4000, "done")

    @app.websocket("/refuse")
    async def refuse_all(ws: WebSocket) -> None:
        await ws.close()

    @app.websocket("/broken")
    async def broken(ws: WebSocket) -> None:
        await ws.accept()
        raise RuntimeError("boom")

    @app.websocket("/broken-early")
    async def broken_early(ws: WebSocket) -> None:
        raise RuntimeError("before accept")

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(make_app()) as client:
        yield client


def test_echo_text_and_bytes(client: TestClient) -> None:
    with client.websocket_connect("/echo") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_bytes() == b"\x00\x01"


def test_path_converters_and_query(client: TestClient) -> None:
    with client.websocket_connect("/rooms/12?nick=ann") as ws:
        assert ws.receive_json() == {"room": 12, "nick": "ann"}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive()
        assert closed.value.code == 1000


def test_converter_mismatch_is_404(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("/rooms/twelve").__enter__()
    assert denied.value.status_code == 404
    assert "No WebSocket is served at /rooms/twelve" in denied.value.text


def test_url_for_names_websocket_routes(client: TestClient) -> None:
    assert client.app.url_for("room", room=3) == "/rooms/3"


def test_http_get_on_websocket_path_is_426(client: TestClient) -> None:
    response = client.get("/echo")
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"


def test_a_page_and_a_socket_share_a_path() -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)

    @app.get("/live")
    def page() -> str:
        return "the page"

    @app.websocket("/live")
    async def live(ws: WebSocket) -> None:
        await ws.send_text("the socket")

    with TestClient(app) as client:
        assert client.get("/live").text == "the page"
        refused = client.post("/live")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
        with client.websocket_connect("/live") as ws:
            assert ws.receive_text() == "the socket"


def test_def_handler_gets_a_blocking_socket(client: TestClient) -> None:
    with client.websocket_connect("/sync") as ws:
        for word in ("tea", "kettle"):
            ws.send_text(word)
            assert ws.receive_text() == word.upper()


def test_session_and_hooks_run_for_the_handshake(client: TestClient) -> None:
    assert client.get("/remember/ann").status_code == 200
    with client.websocket_connect("/whoami") as ws:
        assert ws.receive_json() == {"name": "ann", "hooked": True}


def test_group_hook_refuses_with_its_response(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("/guarded/feed").__enter__()
    assert denied.value.status_code == 403
    assert denied.value.text == "members only"


def test_subprotocol_headers_and_close_code(client: TestClient) -> None:
    with client.websocket_connect("/chosen", headers={"sec-websocket-protocol": "a, b"}) as ws:
        assert ws.subprotocol == "b"
        assert ws.headers["x-room"] == "7"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive()
        assert (closed.value.code, closed.value.reason) == (4000, "done")


def test_close_before_accept_refuses(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("/refuse").__enter__()
    assert denied.value.status_code == 403


def test_handler_error_after_accept_closes_1011(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/broken") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive()
    assert closed.value.code == 1011
    assert "boom" in caplog.text


def test_handler_error_before_accept_is_500(client: TestClient) -> None:
    with pytest.raises(WebSocketDenied) as denied:
        client.websocket_connect("/broken-early").__enter__()
    assert denied.value.status_code == 500


def test_struct_parameter_is_refused_at_start_up() -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)

    @app.websocket("/typed")
    async def typed(ws: WebSocket, hello: Hello) -> None: ...

    with pytest.raises(ConfigurationError, match=r"ws\.receive_json"):
        app.build()


@pytest.mark.parametrize("sync", [True, False])
def test_wrong_socket_type_is_refused_at_start_up(sync: bool) -> None:
    app = App(settings=Settings(env="testing"), templates=None, static=None)
    if sync:

        @app.websocket("/x")
        def handler(ws: WebSocket) -> None: ...

    else:

        @app.websocket("/x")
        async def handler(ws: SyncWebSocket) -> None: ...

    with pytest.raises(ConfigurationError, match="annotate 'ws' as"):
        app.build()


def test_websocket_routes_stay_out_of_openapi() -> None:
    app = App(settings=Settings(env="development"), templates=None, static=None)

    @app.get("/page")
    def page() -> str:
        return "page"

    @app.websocket("/live")
    async def live(ws: WebSocket) -> None: ...

    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert list(paths) == ["/page"]
