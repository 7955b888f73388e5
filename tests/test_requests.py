"""The Request: headers, query, cookies, client address, proxies, URL and the body."""

from typing import Any

import pytest

from kettle import App, Request, Settings
from kettle.testing import TestClient


@pytest.fixture
def app() -> App:
    return App(settings=Settings.load(csrf_enabled=False))


def test_headers_are_case_insensitive(app: App) -> None:
    @app.get("/h")
    def h(request: Request) -> dict[str, Any]:
        headers = request.headers
        return {
            "upper": headers["X-TRACE-ID"],
            "lower": headers.get("x-trace-id"),
            "missing": headers.get("X-Nope", "none"),
            "contains": "X-Trace-Id" in headers,
            "list": headers.getlist("x-multi"),
            "joined": headers["x-multi"],
        }

    with TestClient(app) as client:
        response = client.get(
            "/h", headers=[("X-Trace-Id", "abc"), ("X-Multi", "1"), ("X-Multi", "2")]
        )
    assert response.json() == {
        "upper": "abc",
        "lower": "abc",
        "missing": "none",
        "contains": True,
        "list": ["1", "2"],
        "joined": "1, 2",
    }


def test_query_is_a_multidict(app: App) -> None:
    @app.get("/q")
    def q(request: Request) -> dict[str, Any]:
        query = request.query
        return {
            "last": query["tag"],
            "all": query.getlist("tag"),
            "none": query.getlist("nope"),
            "blank": query["empty"],
            "decoded": query["text"],
        }

    with TestClient(app) as client:
        got = client.get("/q?tag=a&tag=b&empty=&text=caf%C3%A9+au+lait").json()
    assert got == {
        "last": "b",
        "all": ["a", "b"],
        "none": [],
        "blank": "",
        "decoded": "café au lait",
    }


def test_cookies_are_parsed(app: App) -> None:
    @app.get("/c")
    def c(request: Request) -> dict[str, str]:
        return request.cookies

    with TestClient(app) as client:
        got = client.get(
            "/c", headers={"cookie": 'theme=dark; quoted="a b"; broken; =novalue; last=1'}
        ).json()
    assert got == {"theme": "dark", "quoted": "a b", "last": "1"}


def test_client_address_and_url(app: App) -> None:
    @app.get("/where")
    def where(request: Request) -> dict[str, Any]:
        client = request.client
        assert client is not None
        return {"client": [client.host, client.port], "url": request.url, "scheme": request.scheme}

    with TestClient(app, client=("10.1.2.3", 4567)) as client:
        got = client.get("/where?a=1&b=2").json()
    assert got == {
        "client": ["10.1.2.3", 4567],
        "url": "http://testserver/where?a=1&b=2",
        "scheme": "http",
    }


def _proxy_app(trusted: list[str]) -> App:
    app = App(settings=Settings.load(trusted_proxies=trusted))

    @app.get("/who")
    def who(request: Request) -> dict[str, Any]:
        client = request.client
        assert client is not None
        return {"host": client.host, "port": client.port, "url": request.url}

    return app


def test_trusted_proxy_headers_are_believed() -> None:
    app = _proxy_app(["127.0.0.1", "10.0.0.0/8"])
    forwarded = {"x-forwarded-for": "203.0.113.9, 10.0.0.2", "x-forwarded-proto": "https"}
    with TestClient(app) as client:  # the peer is 127.0.0.1
        got = client.get("/who", headers=forwarded).json()
        plain = client.get("/who").json()
        spoofed = client.get("/who", headers={"x-forwarded-for": "6.6.6.6, 203.0.113.9"}).json()
    assert got == {"host": "203.0.113.9", "port": 0, "url": "https://testserver/who"}
    assert plain == {"host": "127.0.0.1", "port": 50000, "url": "http://testserver/who"}
    assert spoofed["host"] == "203.0.113.9"  # the nearest untrusted hop, not the leftmost


def test_proxy_headers_from_an_untrusted_peer_are_ignored() -> None:
    app = _proxy_app(["127.0.0.1"])
    forwarded = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    with TestClient(app, client=("198.51.100.7", 1234)) as client:
        got = client.get("/who", headers=forwarded).json()
    assert got == {"host": "198.51.100.7", "port": 1234, "url": "http://testserver/who"}


def test_proxy_headers_are_ignored_when_no_proxy_is_trusted() -> None:
    app = _proxy_app([])
    with TestClient(app) as client:
        got = client.get("/who", headers={"x-forwarded-for": "203.0.113.9"}).json()
    assert got["host"] == "127.0.0.1"


def test_body_and_json_are_cached(app: App) -> None:
    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        raw = await request.body()
        again = await request.body()
        data = await request.json()
        chunks = [c async for c in request.stream()]  # served from the cached body
        return {"raw": raw.decode(), "same": raw == again, "json": data, "chunks": len(chunks)}

    with TestClient(app) as client:
        got = client.post("/echo", json={"a": [1, 2]}).json()
    assert got == {"raw": '{"a":[1,2]}', "same": True, "json": {"a": [1, 2]}, "chunks": 1}


def test_stream_yields_the_chunks_and_cannot_be_read_twice(app: App) -> None:
    @app.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        total = b"".join([chunk async for chunk in request.stream()])
        errors = []
        try:
            [c async for c in request.stream()]
        except RuntimeError as exc:
            errors.append(str(exc))
        try:
            await request.body()
        except RuntimeError as exc:
            errors.append(str(exc))
        return {"size": len(total), "errors": errors}

    def chunks() -> Any:
        yield b"a" * 10
        yield b"b" * 5

    with TestClient(app) as client:
        got = client.post("/upload", content=chunks()).json()
    assert got["size"] == 15
    assert len(got["errors"]) == 2
    assert all("already streamed" in e for e in got["errors"])


def test_invalid_json_via_request_json_is_400(app: App) -> None:
    @app.post("/j")
    async def j(request: Request) -> Any:
        return await request.json()

    with TestClient(app) as client:
        response = client.post("/j", content=b"{nope")
        not_utf8 = client.post("/j", content=b'"\xff"')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert not_utf8.status_code == 400


def test_path_params_and_route_are_on_the_request(app: App) -> None:
    @app.get("/items/<int:id>", name="item")
    def item(request: Request, id: int) -> dict[str, Any]:
        assert request.route is not None
        return {
            "params": request.path_params,
            "route": request.route.name,
            "url": request.url_for("item", id=id + 1),
            "repr": repr(request),
        }

    with TestClient(app) as client:
        got = client.get("/items/4").json()
    assert got == {
        "params": {"id": 4},
        "route": "item",
        "url": "/items/5",
        "repr": "<Request GET /items/4>",
    }


def test_request_state_is_per_request(app: App) -> None:
    @app.before_request
    def stamp(request: Request) -> None:
        request.state.user = request.headers.get("x-user", "anon")

    @app.get("/me")
    def me(request: Request) -> str:
        return request.state.user

    @app.get("/unset")
    def unset(request: Request) -> str:
        try:
            return request.state.missing
        except AttributeError as exc:
            return str(exc)

    with TestClient(app) as client:
        assert client.get("/me", headers={"x-user": "ann"}).text == "ann"
        assert client.get("/me").text == "anon"
        assert "state has no attribute 'missing'" in client.get("/unset").text
