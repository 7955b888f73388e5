"""The app: return values, hooks, error handling, lifespan, middleware, security, hosts."""

import collections
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from markupsafe import Markup

from kettle import App, HTTPException, PlainTextResponse, Request, Response, Settings
from kettle._types import ASGIApp, Message, Receive, Scope, Send
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient

GENERIC_500 = "Something went wrong on our side. The error was logged; please try again later."


class Book(msgspec.Struct):
    title: str


@dataclasses.dataclass
class Pen:
    colour: str


@pytest.fixture
def app() -> App:
    return App()


# --- return values -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "status", "content_type", "body"),
    [
        ("<h1>hi</h1>", 200, "text/html; charset=utf-8", b"<h1>hi</h1>"),
        ({"a": 1}, 200, "application/json", b'{"a":1}'),
        ([1, 2], 200, "application/json", b"[1,2]"),
        (Book("Dune"), 200, "application/json", b'{"title":"Dune"}'),
        (Pen("red"), 200, "application/json", b'{"colour":"red"}'),
        (b"\x00\x01", 200, "application/octet-stream", b"\x00\x01"),
        (({"id": 9}, 201), 201, "application/json", b'{"id":9}'),
        (("gone", 410, {"X-Why": "old"}), 410, "text/html; charset=utf-8", b"gone"),
        (PlainTextResponse("plain", status=202), 202, "text/plain; charset=utf-8", b"plain"),
    ],
)
def test_return_values_become_responses(
    app: App, value: Any, status: int, content_type: str, body: bytes
) -> None:
    @app.get("/")
    def index() -> Any:
        return value

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    assert response.content == body
    assert response.headers["content-length"] == str(len(body))
    if isinstance(value, tuple) and len(value) == 3:
        assert response.headers["x-why"] == "old"


def test_none_and_empty_statuses_have_no_body(app: App) -> None:
    @app.get("/none")
    def none() -> None:
        return None

    @app.get("/not-modified")
    def not_modified() -> Any:
        return "stale body", 304

    with TestClient(app) as client:
        for url, status in (("/none", 204), ("/not-modified", 304)):
            response = client.get(url)
            assert response.status_code == status
            assert response.content == b""
            assert "content-length" not in response.headers


@pytest.mark.parametrize(
    ("settings", "detail"),
    [
        ({}, GENERIC_500),
        ({"env": "development"}, "A handler returned a set, which Kettle cannot send."),
    ],
)
def test_an_unsupported_return_value_is_a_500(settings: dict[str, Any], detail: str) -> None:
    app = App(settings=Settings.load(**settings))

    @app.get("/")
    def index() -> Any:
        return {1, 2}

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert detail in response.json()["detail"]


def test_a_bad_tuple_is_a_500_in_debug() -> None:
    debug_app = App(settings=Settings.load(env="development"))

    @debug_app.get("/")
    def index() -> Any:
        return "x", "200"

    with TestClient(debug_app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "with an int status" in response.json()["detail"]


def test_dict_and_str_subclasses_are_sent(app: App) -> None:
    @app.get("/ordered")
    def ordered() -> Any:
        return collections.OrderedDict(a=1)

    @app.get("/markup")
    def markup() -> Any:
        return Markup("<b>hi</b>")

    with TestClient(app) as client:
        assert client.get("/ordered").json() == {"a": 1}
        assert client.get("/markup").text == "<b>hi</b>"


# --- hooks --------------------------------------------------------------------------------
def test_before_request_can_short_circuit_and_after_request_modifies(app: App) -> None:
    calls: list[str] = []

    @app.before_request
    async def gate(request: Request) -> Any:
        calls.append("before")
        if "x-key" not in request.headers:
            return {"error": "forbidden"}, 403
        return None

    @app.after_request
    def stamp(request: Request, response: Response) -> None:
        calls.append("after")
        response.set_header("x-stamped", "1")

    @app.after_request
    async def replace(request: Request, response: Response) -> Response | None:
        if request.query.get("replace"):
            return PlainTextResponse("replaced", status=203)
        return None

    @app.get("/")
    def index() -> str:
        calls.append("handler")
        return "index"

    with TestClient(app) as client:
        blocked = client.get("/")
        assert calls == ["before", "after"]
        ok = client.get("/", headers={"x-key": "1"})
        replaced = client.get("/?replace=1", headers={"x-key": "1"})
    assert blocked.status_code == 403
    assert blocked.json() == {"error": "forbidden"}
    assert blocked.headers["x-stamped"] == "1"
    assert ok.text == "index"
    assert ok.headers["x-stamped"] == "1"
    assert replaced.status_code == 203
    assert replaced.text == "replaced"
    assert "x-stamped" not in replaced.headers  # replace() ran after stamp()


# --- errors -----------------------------------------------------------------------------
class OutOfStock(Exception):
    pass


def test_error_handlers_by_class_and_by_status(app: App) -> None:
    @app.errorhandler(OutOfStock)
    def out_of_stock(request: Request, exc: OutOfStock) -> Any:
        return {"error": "out of stock", "item": str(exc)}, 409

    @app.errorhandler(404)
    async def not_found(request: Request, exc: HTTPException) -> Any:
        return f"no page at {request.path}", 404

    @app.get("/buy/<item>")
    def buy(item: str) -> str:
        raise OutOfStock(item)

    @app.get("/missing")
    def missing() -> str:
        raise HTTPException(404, "gone")

    with TestClient(app) as client:
        stock = client.get("/buy/tea")
        unrouted = client.get("/nowhere")
        raised = client.get("/missing")
    assert stock.status_code == 409
    assert stock.json() == {"error": "out of stock", "item": "tea"}
    assert unrouted.status_code == 404
    assert unrouted.text == "no page at /nowhere"
    assert raised.text == "no page at /missing"


def test_http_exception_detail_and_headers(app: App) -> None:
    @app.get("/teapot")
    def teapot() -> str:
        raise HTTPException(418, "short and stout", {"X-Tea": "earl grey"})

    with TestClient(app) as client:
        response = client.get("/teapot")
    assert response.status_code == 418
    assert response.json() == {"status": 418, "error": "I'm a Teapot", "detail": "short and stout"}
    assert response.headers["x-tea"] == "earl grey"


def test_an_error_is_a_500_without_traceback_in_production(app: App) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    with TestClient(app) as client:
        response = client.get("/boom")
        page = client.get("/boom", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "error": "Internal Server Error",
        "detail": GENERIC_500,
    }
    assert "secret internals" not in page.text
    assert "Traceback" not in page.text


def test_debug_mode_shows_the_traceback() -> None:
    app = App(settings=Settings.load(env="development"))

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    with TestClient(app) as client:
        response = client.get("/boom")
        page = client.get("/boom", headers={"accept": "text/html"})
    body = response.json()
    assert body["detail"] == "RuntimeError('secret internals')"
    assert any("raise RuntimeError" in line for line in body["traceback"])
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Traceback (most recent call last)" in page.text
    assert "GET /boom" in page.text


def test_browsers_get_an_html_error_page(app: App) -> None:
    with TestClient(app) as client:
        response = client.get("/<nowhere>", headers={"accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in response.text
    assert "Nothing is served at /&lt;nowhere&gt;." in response.text


# --- lifespan and state -------------------------------------------------------------
def test_lifespan_and_startup_shutdown_hooks(app: App) -> None:
    events: list[str] = []

    @app.lifespan
    @contextlib.asynccontextmanager
    async def resources(app: App) -> AsyncIterator[None]:
        events.append("enter")
        app.state.db = "connected"
        yield
        events.append("exit")

    @app.on_startup
    def started() -> None:
        events.append(f"startup:{app.state.db}")

    @app.on_shutdown
    async def stopped() -> None:
        events.append("shutdown")

    @app.get("/db")
    def db(request: Request) -> str:
        return request.app.state.db

    with TestClient(app) as client:
        assert events == ["enter", "startup:connected"]
        assert client.get("/db").text == "connected"
    assert events == ["enter", "startup:connected", "shutdown", "exit"]


def test_app_state_raises_a_helpful_error(app: App) -> None:
    with pytest.raises(AttributeError, match=r"set it first \(state.cache = \.\.\.\)"):
        app.state.cache  # noqa: B018


# --- middleware ------------------------------------------------------------------------
def recorder(calls: list[str]) -> Any:
    def factory(inner: ASGIApp, *, label: str) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(f"{label} in")

            async def send_marked(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-mw", label.encode())]
                await send(message)

            await inner(scope, receive, send_marked)
            calls.append(f"{label} out")

        return middleware

    return factory


def test_first_middleware_added_is_outermost(app: App) -> None:
    calls: list[str] = []
    app.add_middleware(recorder(calls), label="outer")
    app.add_middleware(recorder(calls), label="inner")

    @app.get("/")
    def index() -> str:
        calls.append("handler")
        return "ok"

    with TestClient(app) as client:
        calls.clear()  # the lifespan passes through the middleware too
        response = client.get("/")
    assert calls == ["outer in", "inner in", "handler", "inner out", "outer out"]
    assert response.headers.get_list("x-mw") == ["inner", "outer"]
    with pytest.raises(ConfigurationError, match="before the app starts"):
        app.add_middleware(recorder(calls), label="late")


# --- security headers and hosts --------------------------------------------------------
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def test_security_headers_on_every_response(app: App) -> None:
    @app.get("/ok")
    def ok() -> str:
        return "ok"

    @app.get("/fail")
    def fail() -> str:
        raise RuntimeError

    @app.get("/framed")
    def framed() -> Any:
        return "framed", 200, {"X-Frame-Options": "SAMEORIGIN"}

    with TestClient(app) as client:
        for response in (client.get("/ok"), client.get("/fail"), client.get("/nowhere")):
            assert {k: response.headers.get(k) for k in SECURITY} == SECURITY
        assert client.options("/ok").headers["x-frame-options"] == "DENY"
        framed_response = client.get("/framed")
    assert framed_response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert framed_response.headers["x-content-type-options"] == "nosniff"


def test_security_headers_can_be_turned_off() -> None:
    app = App(settings=Settings.load(security_headers=False))

    @app.get("/")
    def index() -> str:
        return "ok"

    with TestClient(app) as client:
        response = client.get("/")
    assert not set(SECURITY) & set(response.headers)


@pytest.mark.parametrize(
    ("hosts", "host", "status"),
    [
        (["example.com"], "example.com", 200),
        (["example.com"], "EXAMPLE.com:8000", 200),
        (["example.com"], "evil.com", 400),
        (["example.com"], "www.example.com", 400),
        ([".example.com"], "example.com", 200),
        ([".example.com"], "api.example.com", 200),
        ([".example.com"], "deep.api.example.com", 200),
        ([".example.com"], "badexample.com", 400),
        (["*"], "anything.test", 200),
        (["*"], "bad host!", 400),
    ],
)
def test_allowed_hosts(hosts: list[str], host: str, status: int) -> None:
    app = App(settings=Settings.load(allowed_hosts=hosts))

    @app.get("/")
    def index() -> str:
        return "ok"

    with TestClient(app) as client:
        response = client.get("/", headers={"host": host})
    assert response.status_code == status
    if status == 400:
        assert "is not served here" in response.json()["detail"]
        assert response.headers["x-frame-options"] == "DENY"
    else:
        assert response.text == "ok"


def test_around_request_hooks_nest_in_the_order_they_were_added() -> None:
    app = App(settings=Settings.load(env="testing", env_file=None))
    seen: list[str] = []

    def hook(name: str) -> Any:
        @contextlib.asynccontextmanager
        async def around(request: Request) -> Any:
            seen.append(f"enter {name}")
            yield
            seen.append(f"exit {name}")

        return around

    app.around_request(hook("outer"))
    app.around_request(hook("inner"))

    @app.get("/")
    async def index() -> str:
        seen.append("handler")
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").text == "ok"
    assert seen == ["enter outer", "enter inner", "handler", "exit inner", "exit outer"]
