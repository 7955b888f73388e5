import asyncio
import io
import os
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from kettle._types import ASGIApp, Message, Receive, Scope, Send
from kettle.responses import FileResponse

pytestmark = pytest.mark.anyio

CONTENT = b"0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "hello.txt"
    path.write_bytes(CONTENT)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path


def serve(path: Path, **kwargs: Any) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await FileResponse(path, **kwargs)(scope, receive, send)

    return app


async def fetch(
    app: ASGIApp, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, "/", headers=headers)


async def call_directly(response: FileResponse, receive: Receive, **scope: Any) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await response({"type": "http", "method": "GET", "headers": [], **scope}, receive, send)
    return sent


async def never_disconnects() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def etag_of(app: ASGIApp) -> str:
    return (await fetch(app)).headers["etag"]


async def test_serves_the_file_with_validators(text_file: Path) -> None:
    response = await fetch(serve(text_file))
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "10"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["last-modified"] == formatdate(1_700_000_000, usegmt=True)
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) > 2


async def test_etag_changes_with_the_file(text_file: Path) -> None:
    before = await etag_of(serve(text_file))
    await anyio.Path(text_file).write_bytes(CONTENT + b"!")
    assert await etag_of(serve(text_file)) != before


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("logo.png", None, "image/png"),
        ("blob.unknownext", None, "application/octet-stream"),
        ("data.bin", "application/x-custom", "application/x-custom"),
    ],
)
async def test_media_type(tmp_path: Path, name: str, media_type: str | None, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"x")
    response = await fetch(serve(path, media_type=media_type))
    assert response.headers["content-type"] == expected


async def test_head_sends_headers_only(text_file: Path) -> None:
    response = await fetch(serve(text_file), method="HEAD")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "10"
    assert "etag" in response.headers


@pytest.mark.parametrize("form", ["{etag}", 'W/"nope", {etag}', "W/{etag}", "*"])
async def test_if_none_match_gives_304(text_file: Path, form: str) -> None:
    app = serve(text_file, headers={"Cache-Control": "max-age=60"})
    etag = await etag_of(app)
    response = await fetch(app, headers={"if-none-match": form.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "max-age=60"
    assert "last-modified" in response.headers
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


async def test_if_none_match_mismatch_overrides_if_modified_since(text_file: Path) -> None:
    headers = {"if-none-match": '"other"', "if-modified-since": formatdate(2e9, usegmt=True)}
    response = await fetch(serve(text_file), headers=headers)
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.parametrize(
    ("since", "status"),
    [
        (formatdate(1_700_000_000, usegmt=True), 304),
        (formatdate(1_800_000_000, usegmt=True), 304),
        (formatdate(1_600_000_000, usegmt=True), 200),
        ("not a date", 200),
    ],
)
async def test_if_modified_since(text_file: Path, since: str, status: int) -> None:
    response = await fetch(serve(text_file), headers={"if-modified-since": since})
    assert response.status_code == status
    assert response.content == (CONTENT if status == 200 else b"")


async def test_conditionals_only_apply_to_get_and_head(text_file: Path) -> None:
    app = serve(text_file)
    response = await fetch(app, method="POST", headers={"if-none-match": "*", "range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.content == CONTENT


async def test_conditionals_do_not_apply_to_other_statuses(text_file: Path) -> None:
    response = await fetch(serve(text_file, status=404), headers={"if-none-match": "*"})
    assert response.status_code == 404
    assert response.content == CONTENT


@pytest.mark.parametrize(
    ("header", "content_range", "body"),
    [
        ("bytes=0-4", "bytes 0-4/10", b"01234"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=-30", "bytes 0-9/10", CONTENT),
        ("bytes=8-1000", "bytes 8-9/10", b"89"),
        ("Bytes = 2 - 3", "bytes 2-3/10", b"23"),
    ],
)
async def test_single_range_gives_206(
    text_file: Path, header: str, content_range: str, body: bytes
) -> None:
    response = await fetch(serve(text_file), headers={"range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(body))
    assert response.content == body


async def test_head_with_range_sends_no_body(text_file: Path) -> None:
    response = await fetch(serve(text_file), method="HEAD", headers={"range": "bytes=0-1"})
    assert response.status_code == 206
    assert response.headers["content-length"] == "2"
    assert response.content == b""


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0"])
async def test_unsatisfiable_range_gives_416(text_file: Path, header: str) -> None:
    response = await fetch(serve(text_file), headers={"range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10"
    assert response.content == b""


async def test_suffix_range_of_empty_file_is_unsatisfiable(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    response = await fetch(serve(path), headers={"range": "bytes=-5"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */0"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,4-5",
        "items=0-1",
        "bytes=5-2",
        "bytes=abc",
        "bytes=-",
        "bytes=" + "9" * 5000 + "-",
    ],
)
async def test_multiple_or_invalid_ranges_send_the_whole_file(text_file: Path, header: str) -> None:
    response = await fetch(serve(text_file), headers={"range": header})
    assert response.status_code == 200
    assert response.content == CONTENT
    assert "content-range" not in response.headers


async def test_if_range_with_current_etag_gives_206(text_file: Path) -> None:
    app = serve(text_file)
    headers = {"range": "bytes=0-1", "if-range": await etag_of(app)}
    response = await fetch(app, headers=headers)
    assert response.status_code == 206
    assert response.content == b"01"


@pytest.mark.parametrize(
    "if_range",
    ['"stale-etag"', "W/{etag}", formatdate(1_600_000_000, usegmt=True), "garbage"],
)
async def test_if_range_mismatch_sends_the_whole_file(text_file: Path, if_range: str) -> None:
    app = serve(text_file)
    headers = {"range": "bytes=0-1", "if-range": if_range.format(etag=await etag_of(app))}
    response = await fetch(app, headers=headers)
    assert response.status_code == 200
    assert response.content == CONTENT


async def test_if_range_with_last_modified_date_gives_206(text_file: Path) -> None:
    headers = {"range": "bytes=2-3", "if-range": formatdate(1_700_000_000, usegmt=True)}
    response = await fetch(serve(text_file), headers=headers)
    assert response.status_code == 206
    assert response.content == b"23"


async def test_large_file_is_streamed_in_chunks(tmp_path: Path) -> None:
    content = os.urandom(1_000_003)
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    sent = await call_directly(FileResponse(path, chunk_size=65_536), never_disconnects)
    start, *bodies = sent
    assert start["status"] == 200
    assert dict(start["headers"])[b"content-length"] == b"1000003"
    assert len(bodies) == 16
    assert all(len(m["body"]) <= 65_536 for m in bodies)
    assert [m.get("more_body", False) for m in bodies] == [True] * 15 + [False]
    assert b"".join(m["body"] for m in bodies) == content
    assert (await fetch(serve(path))).content == content


async def test_large_range_spans_chunks(tmp_path: Path) -> None:
    content = os.urandom(500_000)
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    response = await fetch(serve(path, chunk_size=4096), headers={"range": "bytes=1000-300000"})
    assert response.status_code == 206
    assert response.content == content[1000:300_001]


async def test_stops_reading_when_the_client_disconnects(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(1_000_000))

    async def disconnected() -> Message:
        return {"type": "http.disconnect"}

    sent = await call_directly(FileResponse(path, chunk_size=1024), disconnected)
    assert sum(len(m.get("body", b"")) for m in sent) < 1_000_000


async def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    response = await fetch(serve(path))
    assert response.status_code == 200
    assert response.headers["content-length"] == "0"
    assert response.content == b""


async def test_ascii_filename_makes_an_attachment(text_file: Path) -> None:
    response = await fetch(serve(text_file, filename="report.csv"))
    assert response.headers["content-disposition"] == 'attachment; filename="report.csv"'
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


async def test_non_ascii_filename_uses_rfc5987(text_file: Path) -> None:
    response = await fetch(serve(text_file, filename="Résumé 2024.pdf"))
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"R_sum_ 2024.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%202024.pdf"
    )
    assert response.headers["content-type"] == "application/pdf"


async def test_filename_cannot_inject_headers(text_file: Path) -> None:
    response = await fetch(serve(text_file, filename='a"b\r\nx-evil: 1.txt'))
    assert "x-evil" not in response.headers
    assert response.headers["content-disposition"].startswith('attachment; filename="a_bx-evil')


async def test_missing_file_raises_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.txt"
    with pytest.raises(RuntimeError, match=r"gone\.txt"):
        await call_directly(FileResponse(missing), never_disconnects)


async def test_given_stat_result_skips_the_stat(text_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "four.txt"
    other.write_bytes(b"abcd")
    response = await fetch(serve(text_file, stat_result=other.stat()))
    assert response.headers["content-length"] == "4"
    assert response.content == CONTENT[:4]


async def test_reads_do_not_block_the_event_loop(
    text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SlowFile(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            time.sleep(0.05)  # a slow disk or network share
            return super().read(size)

    monkeypatch.setattr(FileResponse, "_open_at", lambda self, start: SlowFile(CONTENT[start:]))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    sent = await call_directly(FileResponse(text_file, chunk_size=2), never_disconnects)
    task.cancel()
    assert b"".join(m.get("body", b"") for m in sent) == CONTENT
    assert ticks >= 20  # five 50 ms reads; a blocked loop would not tick at all


def test_chunk_size_must_be_positive(text_file: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        FileResponse(text_file, chunk_size=0)
