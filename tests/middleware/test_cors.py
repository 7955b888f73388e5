"""CORSMiddleware: preflights, actual requests and option checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kettle._types import Message, Receive, Scope, Send
from kettle.middleware import CORSMiddleware

pytestmark = pytest.mark.anyio

ALLOWED = "https://app.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Inner:
    """An app that answers every request with ``hello`` and the given extra headers."""

    def __init__(self, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.headers = headers or []
        self.calls: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append(scope["method"])
        headers = [(b"content-type", b"text/plain"), *self.headers]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})


async def request(
    middleware: CORSMiddleware, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, "/", headers=headers)


def preflight_headers(method: str = "PUT", headers: str | None = None) -> dict[str, str]:
    out = {"Origin": ALLOWED, "Access-Control-Request-Method": method}
    if headers is not None:
        out["Access-Control-Request-Headers"] = headers
    return out


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


# --- requests without Origin -------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
async def test_request_without_origin_passes_through_untouched(method: str) -> None:
    inner = Inner()
    app = CORSMiddleware(inner, allow_origins=["*"])
    response = await request(app, method, headers={"Access-Control-Request-Method": "PUT"})
    assert inner.calls == [method]
    assert response.text == "hello"
    assert cors_headers(response) == {}
    assert "vary" not in response.headers


async def test_non_http_scopes_pass_straight_through() -> None:
    seen: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "lifespan.startup.complete"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    scope: dict[str, Any] = {"type": "lifespan", "headers": [(b"origin", EVIL.encode())]}
    await CORSMiddleware(inner, allow_origins=[ALLOWED])(scope, receive, send)
    assert seen == [scope]
    assert sent == [{"type": "lifespan.startup.complete"}]


# --- preflight ---------------------------------------------------------------------------


async def test_allowed_preflight_is_answered_with_204_without_calling_the_app() -> None:
    inner = Inner()
    app = CORSMiddleware(
        inner, allow_origins=[ALLOWED], allow_methods=["GET", "PUT"], allow_headers=["X-Token"]
    )
    response = await request(app, "OPTIONS", preflight_headers("PUT", "x-token, content-type"))
    assert inner.calls == []
    assert response.status_code == 204
    assert response.content == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": ALLOWED,
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": (
            "accept, accept-language, content-language, content-type, x-token"
        ),
        "access-control-max-age": "600",
    }
    assert response.headers["vary"] == "Origin"


async def test_preflight_from_disallowed_origin_is_refused_with_400_naming_the_origin() -> None:
    inner = Inner()
    app = CORSMiddleware(inner, allow_origins=[ALLOWED], allow_methods=["PUT"])
    response = await request(
        app, "OPTIONS", {"Origin": EVIL, "Access-Control-Request-Method": "PUT"}
    )
    assert inner.calls == []
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == f"CORS preflight refused: origin '{EVIL}' is not allowed.\n"
    assert cors_headers(response) == {}


async def test_preflight_for_disallowed_method_is_refused_naming_the_method() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED], allow_methods=["GET", "POST"])
    response = await request(app, "OPTIONS", preflight_headers("DELETE"))
    assert response.status_code == 400
    assert response.text == "CORS preflight refused: method 'DELETE' is not allowed.\n"


async def test_preflight_for_disallowed_header_is_refused_naming_each_header() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED], allow_headers=["x-ok"])
    response = await request(app, "OPTIONS", preflight_headers("GET", "x-ok, X-Secret, x-other"))
    assert response.status_code == 400
    assert response.text == (
        "CORS preflight refused: header 'x-secret' is not allowed; "
        "header 'x-other' is not allowed.\n"
    )


async def test_preflight_lists_every_refusal_at_once() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED])
    response = await request(
        app,
        "OPTIONS",
        {
            "Origin": EVIL,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "x-a",
        },
    )
    assert response.text == (
        f"CORS preflight refused: origin '{EVIL}' is not allowed; "
        "method 'PATCH' is not allowed; header 'x-a' is not allowed.\n"
    )


async def test_safelisted_headers_are_always_allowed_and_names_are_case_insensitive() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED], allow_headers=["X-Token"])
    response = await request(
        app,
        "OPTIONS",
        preflight_headers(
            "POST", "Accept, ACCEPT-LANGUAGE, Content-Language, Content-Type, x-TOKEN"
        ),
    )
    assert response.status_code == 204


async def test_default_methods_are_the_safelisted_ones() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED])
    for method in ("GET", "HEAD", "POST"):
        response = await request(app, "OPTIONS", preflight_headers(method))
        assert response.status_code == 204, method
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, POST"
    for method in ("PUT", "PATCH", "DELETE"):
        response = await request(app, "OPTIONS", preflight_headers(method))
        assert response.status_code == 400, method


async def test_wildcard_methods_and_headers_echo_what_the_preflight_asked_for() -> None:
    app = CORSMiddleware(Inner(), allow_origins=[ALLOWED], allow_methods=["*"], allow_headers=["*"])
    response = await request(app, "OPTIONS", preflight_headers("PURGE", "X-Anything, x-more"))
    assert response.status_code == 204
    assert response.headers["access-control-allow-methods"] == "PURGE"
    assert response.headers["access-control-allow-headers"] == "x-anything, x-more"


async def test_wildcard_origin_preflight_without_credentials_sends_star() -> None:
    app = CORSMiddleware(Inner(), allow_origins=["*"])
    response = await request(app, "OPTIONS", preflight_headers("GET"))
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


async def test_wildcard_origin_preflight_with_credentials_echoes_the_origin() -> None:
    app = CORSMiddleware(Inner(), allow_origins=["*"], allow_credentials=True, max_age=30)
    response = await request(app, "OPTIONS", preflight_headers("GET"))
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "30"
    assert response.headers["vary"] == "Origin"


async def test_options_with_origin_but_no_request_method_is_an_actual_request() -> None:
    inner = Inner()
    app = CORSMiddleware(inner, allow_origins=[ALLOWED])
    response = await request(app, "OPTIONS", {"Origin": ALLOWED})
    assert inner.calls == ["OPTIONS"]
    assert response.text == "hello"
    assert response.headers["access-control-allow-origin"] == ALLOWED


# --- actual requests ---------------------------------------------------------------------


async def test_allowed_origin_gets_its_origin_credentials_exposed_headers_and_vary() -> None:
    inner = Inner(headers=[(b"vary", b"Accept-Encoding")])
    app = CORSMiddleware(
        inner,
        allow_origins=[ALLOWED],
        expose_headers=["X-Total", "X-Page"],
        allow_credentials=True,
    )
    response = await request(app, headers={"Origin": ALLOWED})
    assert response.text == "hello"
    assert cors_headers(response) == {
        "access-control-allow-origin": ALLOWED,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-Total, X-Page",
    }
    assert response.headers.get_list("vary") == ["Accept-Encoding, Origin"]


async def test_vary_origin_is_not_duplicated() -> None:
    app = CORSMiddleware(Inner(headers=[(b"Vary", b"origin")]), allow_origins=[ALLOWED])
    response = await request(app, headers={"Origin": ALLOWED})
    assert response.headers.get_list("vary") == ["origin"]


async def test_wildcard_origin_without_credentials_sends_star_and_no_vary() -> None:
    app = CORSMiddleware(Inner(), allow_origins=["*"])
    response = await request(app, headers={"Origin": EVIL})
    assert cors_headers(response) == {"access-control-allow-origin": "*"}
    assert "vary" not in response.headers


async def test_wildcard_origin_with_credentials_echoes_the_origin() -> None:
    app = CORSMiddleware(Inner(), allow_origins=["*"], allow_credentials=True)
    response = await request(app, headers={"Origin": EVIL})
    assert response.headers["access-control-allow-origin"] == EVIL
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


async def test_disallowed_origin_gets_the_response_without_cors_headers() -> None:
    inner = Inner()
    app = CORSMiddleware(inner, allow_origins=[ALLOWED], allow_credentials=True)
    response = await request(app, "POST", headers={"Origin": EVIL})
    assert inner.calls == ["POST"]
    assert response.status_code == 200
    assert response.text == "hello"
    assert cors_headers(response) == {}
    # The answer depends on Origin, so shared caches must key on it.
    assert response.headers["vary"] == "Origin"


async def test_headers_set_by_the_app_are_replaced_not_duplicated() -> None:
    inner = Inner(headers=[(b"access-control-allow-origin", b"*")])
    app = CORSMiddleware(inner, allow_origins=[ALLOWED])
    response = await request(app, headers={"Origin": ALLOWED})
    assert response.headers.get_list("access-control-allow-origin") == [ALLOWED]


async def test_origins_compare_case_insensitively_and_echo_the_request_value() -> None:
    app = CORSMiddleware(Inner(), allow_origins=["HTTPS://App.Example.com"])
    response = await request(app, headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    response = await request(app, headers={"Origin": "https://APP.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://APP.example.com"


async def test_request_header_names_are_case_insensitive() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope: dict[str, Any] = {
        "type": "http",
        "method": "OPTIONS",
        "path": "/",
        "headers": [
            (b"Origin", ALLOWED.encode()),
            (b"Access-Control-Request-Method", b"GET"),
        ],
    }
    await CORSMiddleware(Inner(), allow_origins=[ALLOWED])(scope, receive, send)
    assert sent[0]["status"] == 204


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.org", True),
        ("https://api.example.org", True),
        ("https://example.org", False),
        ("https://shop.example.org.evil.net", False),
        ("http://shop.example.org", False),
    ],
)
async def test_origin_regex_must_match_the_whole_origin(origin: str, allowed: bool) -> None:
    app = CORSMiddleware(Inner(), allow_origin_regex=r"https://[a-z]+\.example\.org")
    response = await request(app, headers={"Origin": origin})
    assert ("access-control-allow-origin" in response.headers) is allowed
    preflight = await request(
        app, "OPTIONS", {"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    assert (preflight.status_code == 204) is allowed


# --- options -----------------------------------------------------------------------------


async def test_options_are_copied_at_construction() -> None:
    origins = [ALLOWED]
    headers = ["x-token"]
    app = CORSMiddleware(Inner(), allow_origins=origins, allow_headers=headers)
    origins.append(EVIL)
    headers.append("x-late")
    response = await request(app, headers={"Origin": EVIL})
    assert cors_headers(response) == {}
    preflight = await request(app, "OPTIONS", preflight_headers("GET", "x-late"))
    assert preflight.status_code == 400


@pytest.mark.parametrize("option", ["allow_origins", "allow_methods", "allow_headers"])
def test_a_bare_string_option_is_rejected(option: str) -> None:
    with pytest.raises(TypeError, match=f"{option} must be a list"):
        CORSMiddleware(Inner(), **{option: "https://app.example.com"})


@pytest.mark.parametrize("origin", ["https://app.example.com/", "app.example.com"])
def test_an_origin_with_a_path_or_no_scheme_is_rejected(origin: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        CORSMiddleware(Inner(), allow_origins=[origin])


def test_an_invalid_origin_regex_is_rejected() -> None:
    with pytest.raises(ValueError, match="allow_origin_regex"):
        CORSMiddleware(Inner(), allow_origin_regex="https://(")


@pytest.mark.parametrize("max_age", [-1, 1.5])
def test_an_invalid_max_age_is_rejected(max_age: Any) -> None:
    with pytest.raises(ValueError, match="max_age"):
        CORSMiddleware(Inner(), max_age=max_age)


def test_is_allowed_origin() -> None:
    cors = CORSMiddleware(Inner(), allow_origins=[ALLOWED, "null"])
    assert cors.is_allowed_origin(ALLOWED)
    assert cors.is_allowed_origin("null")
    assert not cors.is_allowed_origin(EVIL)
