"""GZipMiddleware: when it compresses, how it streams, and what it leaves alone."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import httpx
import pytest

from kettle._types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
from kettle.middleware import GZipMiddleware

pytestmark = pytest.mark.anyio

BODY = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(60))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def inner_app(
    *chunks: bytes,
    status: int = 200,
    content_type: bytes = b"text/plain; charset=utf-8",
    headers: RawHeaders | None = None,
) -> ASGIApp:
    """An app sending ``chunks`` as one body message, or streamed when there are several."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        extra = [(b"content-type", content_type), *(headers or [])]
        if len(chunks) == 1 and not any(k == b"content-length" for k, _ in extra):
            extra.append((b"content-length", str(len(chunks[0])).encode()))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        if scope["method"] == "HEAD" or len(chunks) == 1:
            body = b"" if scope["method"] == "HEAD" else chunks[0]
            await send({"type": "http.response.body", "body": body})
            return
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


async def fetch(
    app: ASGIApp, method: str = "GET", accept: str | None = "gzip"
) -> tuple[httpx.Response, bytes]:
    """Request ``/`` and return the response with its body as sent on the wire."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        del client.headers["accept-encoding"]
        headers = {"Accept-Encoding": accept} if accept is not None else {}
        async with client.stream(method, "/", headers=headers) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def drive(app: ASGIApp, method: str = "GET", accept: bytes = b"gzip") -> list[Message]:
    """Call ``app`` directly and return every message it sent, in order."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/",
        "headers": [(b"accept-encoding", accept)],
    }
    await app(scope, receive, send)
    return sent


def header(message: Message, name: bytes) -> list[bytes]:
    return [v for k, v in message["headers"] if k == name]


# --- compressing ------------------------------------------------------------------------


async def test_a_large_body_is_compressed_with_its_new_length() -> None:
    response, raw = await fetch(GZipMiddleware(inner_app(BODY)))
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(raw))
    assert len(raw) < len(BODY)
    assert gzip.decompress(raw) == BODY
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_httpx_decodes_the_compressed_body_back_to_the_original() -> None:
    transport = httpx.ASGITransport(app=GZipMiddleware(inner_app(BODY)))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == BODY.decode()


@pytest.mark.parametrize(
    ("size", "compressed"), [(499, False), (500, True), (0, False), (5000, True)]
)
async def test_only_bodies_of_at_least_minimum_size_are_compressed(
    size: int, compressed: bool
) -> None:
    body = (BODY * 3)[:size]
    response, raw = await fetch(GZipMiddleware(inner_app(body)))
    assert ("content-encoding" in response.headers) is compressed
    assert (gzip.decompress(raw) if compressed else raw) == body
    assert response.headers["vary"] == "Accept-Encoding"


async def test_minimum_size_is_configurable() -> None:
    response, raw = await fetch(GZipMiddleware(inner_app(b"a" * 20), minimum_size=10))
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == b"a" * 20


async def test_a_small_declared_length_is_not_held_back() -> None:
    order: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        order.append(len(sent))
        await send({"type": "http.response.body", "body": b"small"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    await GZipMiddleware(app)(scope, receive, send)
    assert order == [1]
    assert sent[1]["body"] == b"small"


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [
        ("gzip", True),
        ("GZip", True),
        ("deflate, gzip;q=0.5, br", True),
        ("x-gzip", True),
        ("*", True),
        ("br;q=1.0, *;q=0.1", True),
        (None, False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0.0, *", False),
        ("*;q=0", False),
        ("gzip;q=oops", False),
    ],
)
async def test_compresses_only_when_accept_encoding_allows_gzip(
    accept: str | None, compressed: bool
) -> None:
    response, raw = await fetch(GZipMiddleware(inner_app(BODY)), accept=accept)
    assert ("content-encoding" in response.headers) is compressed
    assert (gzip.decompress(raw) if compressed else raw) == BODY
    # Either way the response depended on Accept-Encoding.
    assert response.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize(("level", "xfl"), [(1, 4), (6, 0), (9, 2)])
async def test_compresslevel_is_used(level: int, xfl: int) -> None:
    _, raw = await fetch(GZipMiddleware(inner_app(BODY), compresslevel=level))
    # Byte 8 of a gzip header (XFL) records whether the fastest or smallest level was used.
    assert raw[8] == xfl
    assert gzip.decompress(raw) == BODY


# --- streaming --------------------------------------------------------------------------


async def test_a_streamed_body_is_compressed_chunk_by_chunk() -> None:
    chunks = [b"first chunk " * 10, b"second chunk " * 10, b"third " * 10]
    app = GZipMiddleware(inner_app(*chunks, headers=[(b"content-length", b"999")]))
    sent = await drive(app)

    start, *bodies = sent
    assert header(start, b"content-encoding") == [b"gzip"]
    assert header(start, b"content-length") == []
    assert header(start, b"vary") == [b"Accept-Encoding"]
    assert [m["more_body"] for m in bodies] == [True, True, True, False]
    # Every chunk decodes as soon as it arrives: the stream stays a stream.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for original, message in zip(chunks, bodies, strict=False):
        assert message["body"] != original
        assert decoder.decompress(message["body"]) == original
    assert decoder.decompress(bodies[-1]["body"]) == b""
    assert decoder.eof
    assert gzip.decompress(b"".join(m["body"] for m in bodies)) == b"".join(chunks)


async def test_a_stream_compresses_even_when_its_first_chunk_is_small() -> None:
    response, raw = await fetch(GZipMiddleware(inner_app(b"a", b"b", b"c")))
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert gzip.decompress(raw) == b"abc"


async def test_empty_chunks_in_a_stream_are_forwarded() -> None:
    sent = await drive(GZipMiddleware(inner_app(b"x" * 600, b"", b"y" * 600)))
    assert sent[2] == {"type": "http.response.body", "body": b"", "more_body": True}
    assert gzip.decompress(b"".join(m["body"] for m in sent[1:])) == b"x" * 600 + b"y" * 600


# --- left alone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        b"image/png",
        b"image/svg+xml",
        b"video/mp4",
        b"audio/ogg",
        b"application/zip",
        b"application/gzip",
        b"font/woff2",
        b"text/event-stream; charset=utf-8",
        b"Text/Event-Stream",
    ],
)
async def test_skipped_content_types_are_never_buffered_or_compressed(
    content_type: bytes,
) -> None:
    seen_before_body: list[int] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", content_type)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        seen_before_body.append(len(sent))
        await send({"type": "http.response.body", "body": BODY, "more_body": True})
        seen_before_body.append(len(sent))
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    await GZipMiddleware(app)(scope, receive, send)
    assert seen_before_body == [1, 2]
    assert sent[0]["headers"] == [(b"content-type", content_type)]
    assert sent[1]["body"] == BODY


async def test_skip_content_types_can_be_replaced() -> None:
    app = inner_app(BODY, content_type=b"application/json")
    response, raw = await fetch(GZipMiddleware(app, skip_content_types=["application/json"]))
    assert "content-encoding" not in response.headers
    assert raw == BODY
    png = inner_app(BODY, content_type=b"image/png")
    response, raw = await fetch(GZipMiddleware(png, skip_content_types=["text/*"]))
    assert response.headers["content-encoding"] == "gzip"


async def test_an_already_encoded_body_is_left_alone() -> None:
    app = inner_app(BODY, headers=[(b"content-encoding", b"br")])
    sent = await drive(GZipMiddleware(app))
    assert header(sent[0], b"content-encoding") == [b"br"]
    assert header(sent[0], b"vary") == []
    assert sent[1]["body"] == BODY


@pytest.mark.parametrize("status", [204, 304])
async def test_responses_without_a_body_are_left_alone(status: int) -> None:
    app = inner_app(b"", status=status, headers=[(b"content-length", b"1000")])
    sent = await drive(GZipMiddleware(app))
    assert sent[0]["status"] == status
    assert header(sent[0], b"content-encoding") == []
    assert header(sent[0], b"vary") == []


async def test_partial_content_is_left_alone() -> None:
    app = inner_app(BODY, status=206, headers=[(b"content-range", b"bytes 0-99/5000")])
    response, raw = await fetch(GZipMiddleware(app))
    assert "content-encoding" not in response.headers
    assert raw == BODY


async def test_head_responses_are_never_compressed() -> None:
    # A sloppy app that sends the body anyway must not get a gzip Content-Length.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(BODY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    sent = await drive(GZipMiddleware(app), method="HEAD")
    assert header(sent[0], b"content-encoding") == []
    assert header(sent[0], b"content-length") == [b"%d" % len(BODY)]
    assert header(sent[0], b"vary") == [b"Accept-Encoding"]


async def test_head_requests_keep_their_headers_and_send_no_body() -> None:
    app = inner_app(b"", headers=[(b"content-length", b"3000")])
    sent = await drive(GZipMiddleware(app), method="HEAD")
    assert header(sent[0], b"content-encoding") == []
    assert header(sent[0], b"content-length") == [b"3000"]
    assert header(sent[0], b"vary") == [b"Accept-Encoding"]
    assert sent[1:] == [{"type": "http.response.body", "body": b""}]
    response, raw = await fetch(GZipMiddleware(app), method="HEAD")
    assert response.status_code == 200
    assert raw == b""


# --- headers ----------------------------------------------------------------------------


async def test_vary_is_merged_into_the_existing_header() -> None:
    app = inner_app(BODY, headers=[(b"Vary", b"Origin"), (b"vary", b"Cookie")])
    response, _ = await fetch(GZipMiddleware(app))
    assert response.headers.get_list("vary") == ["Origin, Cookie, Accept-Encoding"]


async def test_vary_is_not_duplicated() -> None:
    app = inner_app(BODY, headers=[(b"vary", b"accept-encoding")])
    response, _ = await fetch(GZipMiddleware(app))
    assert response.headers.get_list("vary") == ["accept-encoding"]


async def test_a_strong_etag_becomes_weak_when_compressed() -> None:
    app = inner_app(BODY, headers=[(b"etag", b'"v1"')])
    response, _ = await fetch(GZipMiddleware(app))
    assert response.headers["etag"] == 'W/"v1"'
    response, _ = await fetch(GZipMiddleware(app), accept="identity")
    assert response.headers["etag"] == '"v1"'


async def test_the_apps_header_list_is_never_modified() -> None:
    shared: RawHeaders = [(b"content-type", b"text/plain"), (b"content-length", b"3000")]
    snapshot = list(shared)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": shared})
        await send({"type": "http.response.body", "body": b"z" * 3000})

    middleware = GZipMiddleware(app)
    for _ in range(2):
        sent = await drive(middleware)
        assert header(sent[0], b"vary") == [b"Accept-Encoding"]
    assert shared == snapshot


async def test_other_message_types_release_the_held_start() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": "/srv/file.txt"})

    sent = await drive(GZipMiddleware(app, minimum_size=0))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert header(sent[0], b"content-encoding") == []


async def test_non_http_scopes_pass_straight_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "websocket.accept"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    scope: dict[str, Any] = {"type": "websocket", "headers": [(b"accept-encoding", b"gzip")]}
    await GZipMiddleware(app)(scope, receive, send)
    assert seen == [scope]
    assert sent == [{"type": "websocket.accept"}]


# --- options ----------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 10, -1, True, 6.0, "6"])
def test_an_invalid_compresslevel_is_rejected(level: Any) -> None:
    with pytest.raises(ValueError, match=r"compresslevel must be an integer from 1 .* to 9"):
        GZipMiddleware(inner_app(BODY), compresslevel=level)


@pytest.mark.parametrize("size", [-1, 1.5, None])
def test_an_invalid_minimum_size_is_rejected(size: Any) -> None:
    with pytest.raises(ValueError, match="minimum_size"):
        GZipMiddleware(inner_app(BODY), minimum_size=size)


@pytest.mark.parametrize("entry", ["image", "/png", "text/"])
def test_an_invalid_skip_content_type_is_rejected(entry: str) -> None:
    with pytest.raises(ValueError, match="is not a media type"):
        GZipMiddleware(inner_app(BODY), skip_content_types=[entry])


def test_a_bare_string_of_skip_content_types_is_rejected() -> None:
    with pytest.raises(TypeError, match="must be a list"):
        GZipMiddleware(inner_app(BODY), skip_content_types="image/*")
