"""Buffered responses: headers, cookies, redirects, JSON and text, sent over ASGI."""

import dataclasses
import datetime
import uuid
from typing import Any

import msgspec
import pytest

from kettle import (
    App,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from kettle._types import Message
from kettle.testing import TestClient

pytestmark = pytest.mark.anyio


async def send_through(response: Response, method: str = "GET") -> list[Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)

    await response({"type": "http", "method": method}, receive, send)
    return messages


# --- construction and headers ---------------------------------------------------------
def test_plain_response_has_length_and_no_content_type() -> None:
    response = Response("hé", status=201, headers={"X-One": "1"})
    assert response.status_code == 201
    assert response.body == "hé".encode()
    assert response.headers == {"content-length": "3", "x-one": "1"}


def test_text_media_types_get_a_charset() -> None:
    assert PlainTextResponse("ok").headers["content-type"] == "text/plain; charset=utf-8"
    assert HTMLResponse("<p>").headers["content-type"] == "text/html; charset=utf-8"
    custom = Response("a,b", media_type="text/csv; charset=latin-1")
    assert custom.headers["content-type"] == "text/csv; charset=latin-1"
    binary = Response(b"\x00", media_type="application/octet-stream")
    assert binary.headers["content-type"] == "application/octet-stream"


def test_an_explicit_content_type_header_wins_over_the_media_type() -> None:
    response = PlainTextResponse("x", headers={"Content-Type": "text/x-custom"})
    assert [v for k, v in response.raw_headers if k == b"content-type"] == [b"text/x-custom"]


def test_no_content_length_on_204_and_304() -> None:
    assert "content-length" not in Response(status=204).headers
    assert "content-length" not in Response(status=304).headers
    assert Response(status=200).headers["content-length"] == "0"


def test_render_refuses_data_outside_json_response() -> None:
    with pytest.raises(TypeError, match="Response cannot send a dict"):
        Response({"a": 1})  # type: ignore[arg-type]


def test_set_header_replaces_and_add_header_appends() -> None:
    response = Response(headers={"X-A": "1"})
    response.set_header("X-A", "2")
    response.add_header("Vary", "Cookie")
    response.add_header("vary", "Accept")
    assert [v for k, v in response.raw_headers if k == b"x-a"] == [b"2"]
    assert [v for k, v in response.raw_headers if k == b"vary"] == [b"Cookie", b"Accept"]


@dataclasses.dataclass
class Pair:
    a: int
    b: str


class Thing(msgspec.Struct):
    id: uuid.UUID
    at: datetime.date


def test_json_response_encodes_data() -> None:
    key = uuid.UUID(int=1)
    response = JSONResponse({"pair": Pair(1, "x"), "thing": Thing(key, datetime.date(2024, 5, 1))})
    assert response.headers["content-type"] == "application/json"
    assert msgspec.json.decode(response.body) == {
        "pair": {"a": 1, "b": "x"},
        "thing": {"id": str(key), "at": "2024-05-01"},
    }
    assert response.headers["content-length"] == str(len(response.body))


# --- cookies -----------------------------------------------------------------------------
def cookies_of(response: Response) -> list[str]:
    return [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]


def test_set_cookie_with_every_attribute() -> None:
    response = Response()
    expires = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    response.set_cookie(
        "theme",
        "dark",
        max_age=3600,
        expires=expires,
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie("plain", "1", samesite=None)
    [theme, plain] = cookies_of(response)
    parts = [p.strip() for p in theme.split(";")]
    assert parts[0] == "theme=dark"
    assert set(parts[1:]) == {
        "Max-Age=3600",
        "expires=Wed, 02 Jan 2030 03:04:05 GMT",
        "Path=/app",
        "Domain=example.com",
        "Secure",
        "HttpOnly",
        "SameSite=strict",
    }
    assert plain == "plain=1; Path=/"


def test_set_cookie_quotes_awkward_values() -> None:
    response = Response()
    response.set_cookie("note", "a b;c")
    [cookie] = cookies_of(response)
    assert cookie.startswith('note="a b\\073c"')


def test_delete_cookie_expires_it_now() -> None:
    response = Response()
    response.delete_cookie("session", path="/admin", domain="example.com")
    [cookie] = cookies_of(response)
    parts = {p.strip() for p in cookie.split(";")}
    assert 'session=""' in parts
    assert {"Max-Age=0", "Path=/admin", "Domain=example.com"} <= parts


def test_cookies_reach_the_client() -> None:
    app = App()

    @app.get("/login")
    def login() -> Response:
        response = PlainTextResponse("in")
        response.set_cookie("a", "1", httponly=True)
        response.set_cookie("b", "2")
        return response

    with TestClient(app) as client:
        response = client.get("/login")
    assert response.headers.get_list("set-cookie") == [
        "a=1; HttpOnly; Path=/; SameSite=lax",
        "b=2; Path=/; SameSite=lax",
    ]
    assert client.cookies["a"] == "1"


# --- redirects -----------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_status_and_location(status: int) -> None:
    response = RedirectResponse("/next?x=1", status=status)
    assert response.status_code == status
    assert response.headers["location"] == "/next?x=1"
    assert response.body == b""


def test_redirect_defaults_to_302_and_quotes_the_url() -> None:
    response = RedirectResponse("/café menu?q=a b")
    assert response.status_code == 302
    assert response.headers["location"] == "/caf%C3%A9%20menu?q=a%20b"
    kept = RedirectResponse("https://example.com/a%20b#frag")
    assert kept.headers["location"] == "https://example.com/a%20b#frag"


# --- ASGI ------------------------------------------------------------------------------
async def test_asgi_messages_and_head() -> None:
    response = PlainTextResponse("hello", status=202)
    start, body = await send_through(response)
    assert start["type"] == "http.response.start"
    assert start["status"] == 202
    assert (b"content-length", b"5") in start["headers"]
    assert body == {"type": "http.response.body", "body": b"hello"}
    start, body = await send_through(response, method="HEAD")
    assert (b"content-length", b"5") in start["headers"]
    assert body["body"] == b""


def test_responses_returned_by_handlers_are_sent_as_built() -> None:
    app = App()
    made: dict[str, Any] = {}

    @app.get("/text")
    def text() -> Response:
        made["text"] = PlainTextResponse("plain", status=203, headers={"X-Kind": "text"})
        return made["text"]

    @app.get("/json")
    def json() -> Response:
        return JSONResponse([1, "two"], status=201)

    with TestClient(app) as client:
        text_response = client.get("/text")
        json_response = client.get("/json")
    assert text_response.status_code == 203
    assert text_response.text == "plain"
    assert text_response.headers["content-type"] == "text/plain; charset=utf-8"
    assert text_response.headers["x-kind"] == "text"
    assert json_response.status_code == 201
    assert json_response.headers["content-type"] == "application/json"
    assert json_response.json() == [1, "two"]
