import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kettle._types import ASGIApp, Message, Receive, Scope, Send
from kettle.staticfiles import StaticFiles

pytestmark = pytest.mark.anyio

SECRET = b"top secret"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Site:
    root: Path
    secret: Path


def build_site(base: Path) -> Site:
    """A served root with files, an index, a secret next to it and symlinks in and out."""
    root = base / "root"
    (root / "css").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "empty").mkdir()
    (root / "hello.txt").write_bytes(b"hello")
    (root / "css" / "app.css").write_bytes(b"body{}")
    (root / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    # Names that are legal on POSIX but must still be refused (so each test can fail);
    # "..\\secret.txt" stands for the file Windows would find one level up.
    (root / "back\\slash.txt").write_bytes(b"backslash")
    (root / "..\\secret.txt").write_bytes(SECRET)
    (root / "C:\\hello.txt").write_bytes(b"drive")
    (root / "C:").mkdir()
    (root / "C:" / "hello.txt").write_bytes(b"drive")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_bytes(b"root:x:0:0")
    secret = base / "secret.txt"
    secret.write_bytes(SECRET)
    outside = base / "outside"
    outside.mkdir()
    (outside / "file.txt").write_bytes(SECRET)
    (root / "out.txt").symlink_to(secret)
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "in.txt").symlink_to(root / "hello.txt")
    return Site(root, secret)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return build_site(tmp_path)


def mount(app: ASGIApp, prefix: str = "/static", **more: ASGIApp) -> ASGIApp:
    """What a Kettle mount does: strip the prefix into root_path (``more``: other prefixes)."""
    mounts = {prefix: app, **{f"/{name}": other for name, other in more.items()}}

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        for prefix, app in mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                inner = {**scope, "root_path": scope.get("root_path", "") + prefix}
                await app({**inner, "path": path[len(prefix) :]}, receive, send)
                return
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return mounted


async def fetch(
    app: StaticFiles, url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=mount(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, url, headers=headers)


async def call(app: StaticFiles, path: str, raw_path: bytes | None = None) -> tuple[int, bytes]:
    """Call the app with a hand-made scope, as a server that decoded the path would."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "/static",
        "query_string": b"",
        "headers": [],
    }
    if raw_path is not None:
        scope["raw_path"] = raw_path
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_serves_a_file_with_cache_control(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/hello.txt")
    assert response.status_code == 200
    assert response.content == b"hello"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["content-length"] == "5"
    assert "etag" in response.headers


async def test_serves_nested_files(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/css/app.css")
    assert response.content == b"body{}"
    assert response.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(("cache_control", "expected"), [("no-cache", "no-cache"), (None, None)])
async def test_cache_control_option(site: Site, cache_control: str | None, expected: str) -> None:
    app = StaticFiles(site.root, cache_control=cache_control)
    response = await fetch(app, "/static/hello.txt")
    assert response.headers.get("cache-control") == expected


async def test_conditional_request_gives_304_with_cache_control(site: Site) -> None:
    app = StaticFiles(site.root)
    etag = (await fetch(app, "/static/hello.txt")).headers["etag"]
    response = await fetch(app, "/static/hello.txt", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["cache-control"] == "public, max-age=3600"


async def test_range_request(site: Site) -> None:
    response = await fetch(
        StaticFiles(site.root), "/static/hello.txt", headers={"range": "bytes=1-"}
    )
    assert response.status_code == 206
    assert response.content == b"ello"


async def test_head(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/hello.txt", method="HEAD")
    assert response.status_code == 200
    assert response.headers["content-length"] == "5"
    assert response.content == b""


async def test_missing_file_is_a_plain_404(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/nope.txt")
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_get_405(site: Site, method: str) -> None:
    response = await fetch(StaticFiles(site.root), "/static/hello.txt", method=method)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("url", ["/static/css", "/static/css/", "/static", "/static/"])
async def test_directories_are_404_without_html(site: Site, url: str) -> None:
    response = await fetch(StaticFiles(site.root), url)
    assert response.status_code == 404


async def test_file_with_trailing_slash_is_404(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/hello.txt/")
    assert response.status_code == 404


async def test_html_serves_the_directory_index(site: Site) -> None:
    response = await fetch(StaticFiles(site.root, html=True), "/static/docs/")
    assert response.status_code == 200
    assert response.content == b"<h1>docs</h1>"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/static/docs", "/static/docs/"),
        ("/static/docs?v=2&x=1", "/static/docs/?v=2&x=1"),
        ("/static", "/static/"),
    ],
)
async def test_html_redirects_a_directory_to_its_slash(site: Site, url: str, location: str) -> None:
    response = await fetch(StaticFiles(site.root, html=True), url)
    assert response.status_code == 307
    assert response.headers["location"] == location


async def test_html_directory_without_index_is_404(site: Site) -> None:
    response = await fetch(StaticFiles(site.root, html=True), "/static/empty/")
    assert response.status_code == 404


async def test_special_files_are_not_served(site: Site) -> None:
    os.mkfifo(site.root / "pipe")
    response = await fetch(StaticFiles(site.root), "/static/pipe")
    assert response.status_code == 404


async def test_symlink_inside_the_root_is_served(site: Site) -> None:
    response = await fetch(StaticFiles(site.root), "/static/in.txt")
    assert response.status_code == 200
    assert response.content == b"hello"


@pytest.mark.parametrize("url", ["/static/out.txt", "/static/outdir/file.txt"])
async def test_symlink_out_of_the_root_is_404(site: Site, url: str) -> None:
    response = await fetch(StaticFiles(site.root), url)
    assert response.status_code == 404
    assert SECRET not in response.content


@pytest.mark.parametrize("url", ["/static/out.txt", "/static/outdir/file.txt"])
async def test_follow_symlinks_serves_targets_outside(site: Site, url: str) -> None:
    response = await fetch(StaticFiles(site.root, follow_symlinks=True), url)
    assert response.status_code == 200
    assert response.content == SECRET


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/../secret.txt", None),
        ("/css/../../secret.txt", None),
        ("/../secret.txt", b"/static/%2e%2e/secret.txt"),
        ("/../secret.txt", b"/static/..%2fsecret.txt"),
        ("/./../secret.txt", b"/static/%2E/%2E%2E/secret.txt"),
        ("/back\\slash.txt", None),
        ("/back\\slash.txt", b"/static/back%5cslash.txt"),
        ("/hello.txt\x00", b"/static/hello.txt%00"),
        ("/hello.txt\x00.png", None),
        ("//etc/passwd", None),
        ("/C:/hello.txt", None),
        ("/..\\secret.txt", b"/static/..%5Csecret.txt"),
        ("/C:\\hello.txt", None),
    ],
)
@pytest.mark.parametrize("follow_symlinks", [False, True])
async def test_traversal_vectors_are_404(
    site: Site, path: str, raw_path: bytes | None, follow_symlinks: bool
) -> None:
    # follow_symlinks=True switches off the resolved-path check: the path checks stand alone.
    status, body = await call(
        StaticFiles(site.root, follow_symlinks=follow_symlinks), path, raw_path
    )
    assert status == 404
    assert body == b"Not Found"


async def test_raw_path_decoding_to_traversal_is_404(site: Site) -> None:
    # A server that left "path" undecoded: only raw_path shows the traversal.
    (site.root / "%2e%2e").mkdir()
    (site.root / "%2e%2e" / "x.txt").write_bytes(b"x")
    app = StaticFiles(site.root)
    assert await call(app, "/%2e%2e/x.txt") == (200, b"x")
    assert await call(app, "/%2e%2e/x.txt", b"/static/%2e%2e/x.txt") == (404, b"Not Found")
    assert await call(app, "/%2e%2e/x.txt", b"/static/%252e%252e/x.txt") == (404, b"Not Found")


def test_missing_directory_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"'.*nowhere'.*check_dir=False"):
        StaticFiles(tmp_path / "nowhere")


async def test_check_dir_false_serves_a_directory_created_later(tmp_path: Path) -> None:
    app = StaticFiles(tmp_path / "later", check_dir=False)
    assert (await fetch(app, "/static/a.txt")).status_code == 404
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "a.txt").write_bytes(b"a")
    assert (await fetch(app, "/static/a.txt")).content == b"a"


async def test_websocket_is_closed(site: Site) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await StaticFiles(site.root)({"type": "websocket", "path": "/hello.txt"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]


# --- Over a real socket: the client cannot normalise these paths. ---


@pytest.fixture(scope="module")
def server_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    site = build_site(tmp_path_factory.mktemp("served"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # /follow serves the same root with follow_symlinks=True, where only the path checks
    # stand between a request and the parent directory.
    app = mount(StaticFiles(site.root), follow=StaticFiles(site.root, follow_symlinks=True))
    config = uvicorn.Config(app, http="h11", lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)
    sock.close()


def read_response(conn: socket.socket, buffer: bytes) -> tuple[int, bytes, bytes]:
    """Read one response; return its status, body and the bytes left over."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed mid-response: {buffer!r}"
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
    length = int(headers.get(b"content-length", b"0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    return int(lines[0].split(b" ")[1]), rest[:length], rest[length:]


def request(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: testserver\r\n\r\n"


TRAVERSALS = [
    b"/../secret.txt",
    b"/..%2fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2e%2e%2fsecret.txt",
    b"/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    b"/css/..%2f..%2fsecret.txt",
    b"/css/%2e%2e/%2e%2e/outside/file.txt",
    b"/..%5csecret.txt",
    b"/back%5cslash.txt",
    b"/hello.txt%00",
    b"/hello.txt%00.png",
    b"//etc/passwd",
    b"/C:%5chello.txt",
    b"/C:/hello.txt",
]


@pytest.mark.server
@pytest.mark.parametrize(
    "target",
    [b"/static" + t for t in TRAVERSALS]
    + [b"/follow" + t for t in TRAVERSALS]
    + [b"/static/out.txt", b"/static/outdir/file.txt"],
)
def test_traversal_over_a_real_socket_is_404(server_port: int, target: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as conn:
        conn.sendall(request(target))
        status, body, rest = read_response(conn, b"")
        assert status == 404
        assert SECRET not in body
        # The same connection still serves the next request.
        conn.sendall(request(b"/static/hello.txt"))
        assert read_response(conn, rest)[:2] == (200, b"hello")


@pytest.mark.server
def test_real_socket_serves_files(server_port: int) -> None:
    # Guards the test above: the server does serve what exists, so its 404s mean something.
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as conn:
        conn.sendall(request(b"/static/css/app.css"))
        status, body, rest = read_response(conn, b"")
        assert (status, body) == (200, b"body{}")
        conn.sendall(request(b"/follow/out.txt"))
        assert read_response(conn, rest)[:2] == (200, SECRET)
