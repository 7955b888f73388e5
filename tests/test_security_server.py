"""Every security default, checked over a real socket against Granian and uvicorn.

Each test sends the bad input, checks the status, the body and the headers, then checks
that the same server still answers ``GET /``. Requests an HTTP client would tidy up (bad
Host headers, huge header blocks, chunked bodies, ``..`` in paths) go out as raw bytes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest

from servers import (
    SERVERS,
    RawResponse,
    Server,
    chunk,
    raw_request,
    refused_start,
    request_bytes,
    running_server,
)

pytestmark = pytest.mark.server

APP = "security_app:app"
SECRET = b"TOP-SECRET-never-served"
#: Small limits, so the tests stay small; each test names the one it crosses.
LIMITS = {
    "KETTLE_MAX_HEADER_SIZE": "4096",
    "KETTLE_MAX_FORM_FIELDS": "5",
    "KETTLE_MAX_FORM_FILES": "2",
    "KETTLE_MAX_FORM_FIELD_SIZE": "100",
}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


# --- servers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's root: ``static/hello.txt`` is served, ``secret.txt`` next to it is not."""
    root = tmp_path_factory.mktemp("site")
    (root / "static").mkdir()
    (root / "static" / "hello.txt").write_bytes(b"hello")
    (root / "secret.txt").write_bytes(SECRET)
    return root


@pytest.fixture(scope="module", params=SERVERS)
def server_name(request: pytest.FixtureRequest) -> Server:
    server: Server = request.param
    return server


@pytest.fixture(scope="module")
def prod(server_name: Server, site: Path) -> Iterator[str]:
    """Production settings with small header and form limits."""
    env = {"SECURITY_APP_ROOT": str(site), **LIMITS}
    with running_server(APP, server=server_name, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def small_body(server_name: Server, site: Path) -> Iterator[str]:
    """Production settings with ``max_body_size`` of 1000 bytes."""
    env = {"SECURITY_APP_ROOT": str(site), "KETTLE_MAX_BODY_SIZE": "1000"}
    with running_server(APP, server=server_name, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def debug(server_name: Server, site: Path) -> Iterator[dict[str, str]]:
    """Two debug servers: switched on by the environment, and by the flag in production."""
    switches = {"KETTLE_ENV=development": "KETTLE_ENV", "KETTLE_DEBUG=true": "KETTLE_DEBUG"}
    with contextlib.ExitStack() as stack:
        urls = {}
        for switch, name in switches.items():
            env = {"SECURITY_APP_ROOT": str(site), name: switch.partition("=")[2]}
            urls[switch] = stack.enter_context(running_server(APP, server=server_name, env=env))
        yield urls


# --- checks -------------------------------------------------------------------------------
def as_raw(response: httpx.Response | RawResponse) -> RawResponse:
    if isinstance(response, RawResponse):
        return response
    headers = {k.lower(): v for k, v in response.headers.items()}
    return RawResponse(response.status_code, headers, response.content)


def assert_security_headers(response: httpx.Response | RawResponse) -> None:
    headers = as_raw(response).headers
    assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS


def assert_error(response: httpx.Response | RawResponse, status: int, *fragments: str) -> None:
    """A Kettle JSON error with ``status`` whose detail mentions every fragment."""
    raw = as_raw(response)
    assert raw.status == status, raw.text
    assert raw.headers["content-type"].startswith("application/json")
    body = json.loads(raw.body)
    assert body["status"] == status
    assert body["error"] == HTTPStatus(status).phrase
    for fragment in fragments:
        assert fragment in body["detail"]
    assert_security_headers(raw)


def assert_alive(base_url: str) -> None:
    """The server that just refused something still serves the next request."""
    response = httpx.get(base_url + "/", timeout=5)
    assert response.status_code == 200
    assert response.text == "kettle is up"


def multipart(
    fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, bytes]] = ()
) -> tuple[bytes, str]:
    boundary = "kettle-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        f"\r\nContent-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, filename, data in files
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- production settings ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("KETTLE_SECRET_KEY", "SECRET_KEY is missing"),
        ("KETTLE_ALLOWED_HOSTS", "ALLOWED_HOSTS is empty"),
    ],
    ids=["secret-key", "allowed-hosts"],
)
def test_production_without_required_setting_refuses_to_start(
    server_name: Server, unset: str, message: str
) -> None:
    code, output = refused_start(APP, server=server_name, env={unset: ""}, timeout=3)
    assert code != 0
    assert message in output


# --- allowed hosts ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "localhost@evil.example",
        "127.0.0.1 evil.example",
        "[::1]",
    ],
)
def test_unlisted_host_is_400(prod: str, host: str) -> None:
    response = raw_request(prod, request_bytes("GET", "/", host=host))
    assert_error(response, 400, repr(host), "KETTLE_ALLOWED_HOSTS")
    assert "kettle is up" not in response.text
    assert_alive(prod)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8000", "LOCALHOST"])
def test_listed_host_is_served(prod: str, host: str) -> None:
    response = raw_request(prod, request_bytes("GET", "/", host=host))
    assert (response.status, response.text) == (200, "kettle is up")
    assert_security_headers(response)


def test_missing_host_is_400(prod: str) -> None:
    response = raw_request(prod, b"GET / HTTP/1.0\r\n\r\n")
    assert_error(response, 400, "'(none)'", "KETTLE_ALLOWED_HOSTS")
    assert_alive(prod)


@pytest.mark.parametrize(
    "hosts", [("evil.example", "127.0.0.1"), ("127.0.0.1", "evil.example")], ids=["first", "last"]
)
def test_repeated_host_header_is_400(
    prod: str, server_name: Server, hosts: tuple[str, str]
) -> None:
    # RFC 9112 section 3.2: more than one Host header is a 400, whichever comes first.
    data = request_bytes("GET", "/", [("Host", hosts[1])], host=hosts[0])
    response = raw_request(prod, data)
    if server_name == "uvicorn":  # h11 refuses it before the app sees it
        assert (response.status, response.text) == (400, "Invalid HTTP request received.")
    else:
        assert_error(response, 400, "more than one Host header")
    assert_alive(prod)


# --- security headers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/static/hello.txt", 200), ("/missing", 404), ("/static/missing.txt", 404)],
)
def test_security_headers_on_responses(prod: str, path: str, status: int) -> None:
    response = httpx.get(prod + path)
    assert response.status_code == status
    assert_security_headers(response)


def test_security_headers_on_server_errors(prod: str) -> None:
    response = httpx.get(prod + "/boom")
    assert response.status_code == 500
    assert_security_headers(response)
    assert_alive(prod)


# --- header size --------------------------------------------------------------------------
# NOTE: Granian answers a bare 431 itself for more than 100 header lines; a few 1 KiB
# headers stay under that, and under both servers' byte limits, so Kettle decides.
BIG_HEADERS = [(f"X-Padding-{i}", "a" * 1024) for i in range(8)]


def test_header_block_over_max_header_size_is_431(prod: str) -> None:
    response = raw_request(prod, request_bytes("GET", "/", BIG_HEADERS))
    assert_error(response, 431, "4096 bytes", "max_header_size")
    assert "kettle is up" not in response.text
    assert_alive(prod)


def test_header_block_under_max_header_size_is_served(prod: str) -> None:
    response = raw_request(prod, request_bytes("GET", "/", BIG_HEADERS[:3]))
    assert (response.status, response.text) == (200, "kettle is up")


# --- body size ----------------------------------------------------------------------------
CHUNKED = [("Transfer-Encoding", "chunked")]


def test_declared_content_length_over_limit_is_413_before_reading(small_body: str) -> None:
    # No body is sent: if Kettle waited for it, the read would time out.
    head = request_bytes("POST", "/body", [("Content-Length", "1001")])
    response = raw_request(small_body, head, timeout=3)
    assert_error(response, 413, "1000 bytes", "max_body_size")
    assert_alive(small_body)


def test_body_at_the_limit_is_read(small_body: str) -> None:
    response = httpx.post(small_body + "/body", content=b"a" * 1000)
    assert (response.status_code, response.json()) == (200, {"size": 1000})


def test_chunked_body_under_the_limit_is_read(small_body: str) -> None:
    head = request_bytes("POST", "/body", CHUNKED)
    response = raw_request(small_body, head, chunk(b"a" * 500), chunk(b"b" * 400), chunk(b""))
    assert (response.status, json.loads(response.body)) == (200, {"size": 900})


def test_chunked_body_over_the_limit_is_413(small_body: str) -> None:
    head = request_bytes("POST", "/body", CHUNKED)
    parts = [chunk(b"a" * 1000) for _ in range(5)]
    response = raw_request(small_body, head, *parts, chunk(b""))
    assert_error(response, 413, "1000 bytes", "max_body_size")
    assert_alive(small_body)


def test_chunked_body_is_refused_while_streaming(small_body: str) -> None:
    # The body never ends: the 413 can only come from counting the chunks as they arrive.
    head = request_bytes("POST", "/body", CHUNKED)
    response = raw_request(small_body, head, chunk(b"a" * 600), chunk(b"a" * 401), pause=0.1)
    assert_error(response, 413, "1000 bytes", "max_body_size")
    assert_alive(small_body)


# --- forms --------------------------------------------------------------------------------
def post_urlencoded(base_url: str, count: int) -> httpx.Response:
    return httpx.post(base_url + "/form", data={f"f{i}": "x" for i in range(count)})


def post_multipart(
    base_url: str, fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, bytes]] = ()
) -> httpx.Response:
    body, content_type = multipart(fields, files)
    return httpx.post(base_url + "/form", content=body, headers={"content-type": content_type})


def test_urlencoded_fields_up_to_the_limit(prod: str) -> None:
    response = post_urlencoded(prod, 5)
    assert (response.status_code, response.json()) == (200, {"fields": 5, "files": 0})


def test_too_many_urlencoded_fields_is_413(prod: str) -> None:
    assert_error(post_urlencoded(prod, 6), 413, "more than 5 fields", "max_form_fields")
    assert_alive(prod)


def test_multipart_fields_and_files_up_to_the_limits(prod: str) -> None:
    fields = [(f"f{i}", "x") for i in range(5)]
    files = [(f"u{i}", f"{i}.txt", b"data") for i in range(2)]
    response = post_multipart(prod, fields, files)
    assert (response.status_code, response.json()) == (200, {"fields": 5, "files": 2})


def test_too_many_multipart_fields_is_413(prod: str) -> None:
    response = post_multipart(prod, [(f"f{i}", "x") for i in range(6)])
    assert_error(response, 413, "more than 5 fields", "max_form_fields")
    assert_alive(prod)


def test_too_many_files_is_413(prod: str) -> None:
    files = [(f"u{i}", f"{i}.txt", b"data") for i in range(3)]
    response = post_multipart(prod, [], files)
    assert_error(response, 413, "more than 2 files", "max_form_files")
    assert_alive(prod)


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_form_field_over_max_form_field_size_is_413(prod: str, kind: str) -> None:
    if kind == "urlencoded":
        response = httpx.post(prod + "/form", data={"big": "x" * 101})
    else:
        response = post_multipart(prod, [("big", "x" * 101)])
    assert_error(response, 413, "'big'", "100 bytes", "max_form_field_size")
    assert_alive(prod)


# --- JSON ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"title": ', "not valid JSON"),
        (b'{"title": "x",}', "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
        ('{"title": "café"}'.encode("latin-1"), "not valid UTF-8"),
    ],
    ids=["truncated", "trailing-comma", "nested", "latin-1"],
)
def test_bad_json_is_400(prod: str, body: bytes, fragment: str) -> None:
    response = httpx.post(
        prod + "/json", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, fragment)
    assert_alive(prod)


def test_good_json_is_read(prod: str) -> None:
    response = httpx.post(prod + "/json", json={"title": "café"})
    assert (response.status_code, response.json()) == (200, {"type": "dict"})


# --- server errors ------------------------------------------------------------------------
LEAKS = ["Traceback", "ZeroDivisionError", "division", "security_app", 'File "']


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_production_500_shows_no_traceback(prod: str, accept: str) -> None:
    response = httpx.get(prod + "/boom", headers={"accept": accept})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(accept)
    assert "Something went wrong" in response.text
    for leak in LEAKS:
        assert leak not in response.text
    assert_security_headers(response)
    assert_alive(prod)


def test_debug_500_shows_the_traceback_page(debug: dict[str, str]) -> None:
    for switch, url in debug.items():
        response = httpx.get(url + "/boom", headers={"accept": "text/html"})
        assert response.status_code == 500, switch
        assert response.headers["content-type"].startswith("text/html"), switch
        for shown in ["Traceback", "ZeroDivisionError", "security_app.py", "debug mode"]:
            assert shown in response.text, switch
        assert_alive(url)


def test_debug_500_json_carries_the_traceback(debug: dict[str, str]) -> None:
    for switch, url in debug.items():
        response = httpx.get(url + "/boom", headers={"accept": "application/json"})
        assert response.status_code == 500, switch
        body = response.json()
        assert body["detail"] == "ZeroDivisionError('integer division or modulo by zero')"
        assert body["traceback"][0].startswith("Traceback"), switch
        assert_alive(url)


# --- CSRF ---------------------------------------------------------------------------------
def session_and_token(base_url: str) -> tuple[str, str]:
    """A fresh session cookie (as a Cookie header value) and a CSRF token for it."""
    response = httpx.get(base_url + "/csrf")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax"} <= attributes
    return cookie.split(";")[0], response.json()["token"]


def test_cookie_post_without_token_is_403(prod: str) -> None:
    cookie, _ = session_and_token(prod)
    response = httpx.post(prod + "/submit", headers={"cookie": cookie})
    assert_error(response, 403, "CSRF check failed", "csrf_token", "X-CSRF-Token")
    assert_alive(prod)


def test_any_cookie_makes_a_post_subject_to_csrf(prod: str) -> None:
    response = httpx.post(prod + "/submit", headers={"cookie": "theme=dark"})
    assert_error(response, 403, "CSRF check failed", "csrf_token")
    assert_alive(prod)


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://127.0.0.1", "https://{host}"]
)
def test_foreign_origin_is_403(prod: str, origin: str) -> None:
    cookie, token = session_and_token(prod)
    origin = origin.format(host=prod.removeprefix("http://"))
    headers = {"cookie": cookie, "x-csrf-token": token, "origin": origin}
    response = httpx.post(prod + "/submit", headers=headers)
    assert_error(response, 403, "CSRF check failed", f"came from {origin}")
    assert_alive(prod)


def test_token_of_another_session_is_403(prod: str) -> None:
    cookie, _ = session_and_token(prod)
    _, other_token = session_and_token(prod)
    response = httpx.post(prod + "/submit", headers={"cookie": cookie, "x-csrf-token": other_token})
    assert_error(response, 403, "does not match this session")
    assert_alive(prod)


def test_valid_token_in_header_passes(prod: str) -> None:
    cookie, token = session_and_token(prod)
    headers = {"cookie": cookie, "x-csrf-token": token, "origin": prod}
    response = httpx.post(prod + "/submit", headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert_security_headers(response)


def test_valid_token_in_form_passes(prod: str) -> None:
    cookie, token = session_and_token(prod)
    response = httpx.post(prod + "/submit", headers={"cookie": cookie}, data={"csrf_token": token})
    assert (response.status_code, response.json()) == (200, {"ok": True})


@pytest.mark.parametrize("cookie", [None, "theme=dark"])
def test_authorization_header_requests_are_not_subject(prod: str, cookie: str | None) -> None:
    headers = {"authorization": "Bearer api-token"}
    if cookie:
        headers["cookie"] = cookie
    response = httpx.post(prod + "/submit", headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": True})


# --- static files -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/..%5csecret.txt",
        "/static/hello.txt%00",
        "/static/%00/../secret.txt",
        "/static//{root}/secret.txt",
    ],
)
def test_static_traversal_is_404(prod: str, site: Path, path: str) -> None:
    response = raw_request(prod, request_bytes("GET", path.format(root=str(site).lstrip("/"))))
    assert (response.status, response.text) == (404, "Not Found")
    assert SECRET not in response.body
    assert_security_headers(response)
    assert_alive(prod)


def test_static_file_is_served(prod: str) -> None:
    response = raw_request(prod, request_bytes("GET", "/static/hello.txt"))
    assert (response.status, response.body) == (200, b"hello")
    assert response.headers["content-type"].startswith("text/plain")
    assert_security_headers(response)
