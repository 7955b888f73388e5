from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import pytest

from kettle import forms
from kettle.datastructures import Headers
from kettle.exceptions import BadRequest, HTTPException
from kettle.forms import FormData, FormLimits, UploadFile, parse_form

pytestmark = pytest.mark.anyio

BOUNDARY = "kettle-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeRequest:
    """Just what parse_form reads: headers, and a body streamed in small chunks."""

    def __init__(self, body: bytes, content_type: str | None, chunk_size: int = 7) -> None:
        raw = [(b"content-type", content_type.encode("latin-1"))] if content_type else []
        self.headers = Headers(raw)
        self.body = body
        self.chunk_size = chunk_size
        self.sent = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.chunk_size):
            chunk = self.body[start : start + self.chunk_size]
            self.sent += len(chunk)
            yield chunk


def part(name: str, content: bytes, filename: str | None = None, ctype: str | None = None) -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    lines = [disposition] + ([f"Content-Type: {ctype}"] if ctype else [])
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + content


def multipart(*parts: bytes) -> bytes:
    sep = f"--{BOUNDARY}".encode()
    return b"".join(sep + b"\r\n" + p + b"\r\n" for p in parts) + sep + b"--\r\n"


async def parse(
    body: bytes, content_type: str | None, limits: FormLimits | None = None, chunk_size: int = 7
) -> FormData:
    return await parse_form(FakeRequest(body, content_type, chunk_size), limits or FormLimits())  # type: ignore[arg-type]


async def upload(form: FormData, key: str) -> UploadFile:
    value = form[key]
    assert isinstance(value, UploadFile)
    return value


# --- url-encoded -----------------------------------------------------------------------
async def test_urlencoded_keeps_repeated_keys_and_blank_values() -> None:
    body = b"tag=a&tag=b&empty=&bare&&name=J%C3%BCrgen+M%26M&"
    form = await parse(body, URLENCODED, chunk_size=3)
    assert form.multi_items() == [
        ("tag", "a"),
        ("tag", "b"),
        ("empty", ""),
        ("bare", ""),
        ("name", "Jürgen M&M"),
    ]
    assert form["tag"] == "b"


async def test_urlencoded_honours_charset() -> None:
    form = await parse(b"name=J%FCrgen", f"{URLENCODED}; charset=ISO-8859-1")
    assert form["name"] == "Jürgen"


@pytest.mark.parametrize("charset", ["klingon", "base64"])
async def test_urlencoded_unknown_charset_is_415(charset: str) -> None:
    with pytest.raises(HTTPException) as exc:
        await parse(b"a=1", f"{URLENCODED}; charset={charset}")
    assert exc.value.status == 415
    assert charset in exc.value.detail


@pytest.mark.parametrize("body", [b"name=%FF", b"%FF=x"])
async def test_urlencoded_invalid_utf8_is_400(body: bytes) -> None:
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        await parse(body, URLENCODED)


# --- multipart -------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [1, 7, 100, 1 << 16])
async def test_multipart_fields_and_files(chunk_size: int) -> None:
    large = bytes(range(256)) * 20  # 5120 bytes, past the 1024-byte spool
    body = multipart(
        part("title", "Grüße".encode()),
        part("tag", b"a"),
        part("tag", b""),
        part("notes", b"hello", filename="notes.txt", ctype="text/plain"),
        part("photo", large, filename="photo.bin", ctype="application/octet-stream"),
    )
    limits = FormLimits(spool_size=1024)
    form = await parse(body, MULTIPART, limits, chunk_size)

    assert form["title"] == "Grüße"
    assert form.getlist("tag") == ["a", ""]
    notes, photo = await upload(form, "notes"), await upload(form, "photo")
    assert (notes.filename, notes.content_type, notes.size) == ("notes.txt", "text/plain", 5)
    assert notes.headers["content-type"] == "text/plain"
    assert notes.file._rolled is False  # type: ignore[attr-defined]
    assert (photo.filename, photo.size) == ("photo.bin", len(large))
    assert photo.file._rolled is True  # type: ignore[attr-defined]
    assert (photo.file.tell(), notes.file.tell()) == (0, 0)  # rewound for reading
    assert await notes.read() == b"hello"
    assert await photo.read(10) == large[:10]
    assert await photo.read() == large[10:]
    await form.close()
    assert photo.file.closed
    assert notes.file.closed


@pytest.mark.parametrize("chunk_size", [1, 5, 64, 4096])
async def test_binary_file_content_is_preserved_exactly(chunk_size: int) -> None:
    # CR/LF runs and near-boundaries inside the data must not be taken for delimiters.
    tricky = b"\r\n--" + BOUNDARY[:-1].encode() + b"\r\n\r\n--\r" + bytes(range(256)) + b"\r\n"
    content = tricky * 30 + b"\x00\xff\r"
    body = multipart(part("blob", content, filename="blob.bin"))
    form = await parse(body, MULTIPART, FormLimits(spool_size=2048), chunk_size)
    blob = await upload(form, "blob")
    assert blob.size == len(content)
    assert await blob.read() == content
    assert blob.content_type == "application/octet-stream"


async def test_empty_filename_is_still_a_file() -> None:
    body = multipart(
        part("doc", b"", filename="", ctype="application/octet-stream"),
        part("plain", b"text", ctype="text/plain"),
    )
    form = await parse(body, MULTIPART)
    doc = await upload(form, "doc")
    assert (doc.filename, doc.size, await doc.read()) == ("", 0, b"")
    assert form["plain"] == "text"


async def test_quoted_boundary() -> None:
    body = multipart(part("a", b"1")).replace(BOUNDARY.encode(), b"odd boundary")
    form = await parse(body, 'multipart/form-data; boundary="odd boundary"')
    assert form["a"] == "1"


# --- limits ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (URLENCODED, b"a=1&b=2&c=3"),
        (MULTIPART, multipart(part("a", b"1"), part("b", b"2"), part("c", b"3"))),
    ],
)
async def test_too_many_fields_is_413(content_type: str, body: bytes) -> None:
    with pytest.raises(HTTPException) as exc:
        await parse(body, content_type, FormLimits(max_fields=2))
    assert exc.value.status == 413
    assert "2 fields" in exc.value.detail
    assert "max_form_fields" in exc.value.detail
    assert len(await parse(body, content_type, FormLimits(max_fields=3))) == 3


async def test_too_many_files_is_413_and_closes_the_files_so_far(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Recorded(UploadFile):
        __slots__ = ()
        made: ClassVar[list[UploadFile]] = []

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.made.append(self)

    monkeypatch.setattr(forms, "UploadFile", Recorded)
    files = [part(f"f{i}", b"x" * 50, filename=f"{i}.txt") for i in range(3)]
    with pytest.raises(HTTPException) as exc:
        await parse(multipart(*files), MULTIPART, FormLimits(max_files=2, spool_size=10))
    assert exc.value.status == 413
    assert "2 files" in exc.value.detail
    assert "max_form_files" in exc.value.detail
    assert [f.file.closed for f in Recorded.made] == [True, True]


@pytest.mark.parametrize(
    ("content_type", "ok", "too_big"),
    [
        # The limit counts decoded bytes: 8 percent-escapes are 24 bytes sent, 8 kept.
        (URLENCODED, b"a=" + b"%41" * 8, b"a=" + b"A" * 9),
        (MULTIPART, multipart(part("a", b"A" * 8)), multipart(part("a", b"A" * 9))),
    ],
)
async def test_field_over_max_field_size_is_413(
    content_type: str, ok: bytes, too_big: bytes
) -> None:
    limits = FormLimits(max_field_size=8)
    assert (await parse(ok, content_type, limits))["a"] == "A" * 8
    with pytest.raises(HTTPException) as exc:
        await parse(too_big, content_type, limits)
    assert exc.value.status == 413
    assert "'a'" in exc.value.detail
    assert "max_form_field_size" in exc.value.detail


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (URLENCODED, b"a=" + b"A" * 1000),
        (URLENCODED, b"A" * 1000 + b"=1"),
        (MULTIPART, multipart(part("a", b"A" * 1000))),
    ],
    ids=["urlencoded-value", "urlencoded-name", "multipart"],
)
async def test_field_size_is_enforced_while_streaming(content_type: str, body: bytes) -> None:
    request = FakeRequest(body, content_type, chunk_size=10)
    with pytest.raises(HTTPException, match="max_form_field_size"):
        await parse_form(request, FormLimits(max_field_size=8))  # type: ignore[arg-type]
    assert request.sent < 100  # refused long before the end of the body


async def test_field_size_limit_does_not_apply_to_files() -> None:
    body = multipart(part("f", b"x" * 100, filename="f.txt"))
    form = await parse(body, MULTIPART, FormLimits(max_field_size=8))
    assert (await upload(form, "f")).size == 100


# --- bad bodies ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        multipart(part("name", b"\xff\xfe")),
        multipart(b'Content-Disposition: form-data; name="n\xff"\r\n\r\nx'),
        multipart(b'Content-Disposition: form-data; name="f"; filename="\xff.txt"\r\n\r\nx'),
    ],
    ids=["value", "name", "filename"],
)
async def test_multipart_invalid_utf8_is_400(body: bytes) -> None:
    assert b"\xff" in body
    with pytest.raises(BadRequest, match="not valid UTF-8"):
        await parse(body, MULTIPART)


@pytest.mark.parametrize("params", ["", "; boundary=", "; charset=utf-8"])
async def test_missing_boundary_is_400(params: str) -> None:
    with pytest.raises(BadRequest, match="no boundary"):
        await parse(multipart(part("a", b"1")), "multipart/form-data" + params)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (multipart(part("a", b"1"), part("b", b"2"))[:-30], "cut short"),
        (multipart(part("a", b"1"))[:-4], "cut short"),
        (b"--" + BOUNDARY.encode() + b"XX\r\n", "malformed"),
        (b"--" + BOUNDARY.encode() + b"\r\nbad header\r\n\r\nx", "malformed"),
        (multipart(b"Content-Type: text/plain\r\n\r\nx"), "no name"),
    ],
    ids=["truncated-in-part", "no-closing-boundary", "bad-boundary", "bad-header", "no-name"],
)
async def test_malformed_multipart_is_400(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        await parse(body, MULTIPART)


async def test_boundary_too_long_is_400() -> None:
    with pytest.raises(BadRequest):
        await parse(b"--x\r\n", "multipart/form-data; boundary=" + "x" * 300)


@pytest.mark.parametrize("content_type", ["application/json", None])
async def test_other_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(HTTPException) as exc:
        await parse(b'{"a": 1}', content_type)
    assert exc.value.status == 415
    assert URLENCODED in exc.value.detail
    assert "multipart/form-data" in exc.value.detail


@pytest.mark.parametrize("content_type", [None, "application/json", URLENCODED, MULTIPART])
async def test_empty_body_is_an_empty_form(content_type: str | None) -> None:
    form = await parse(b"", content_type)
    assert isinstance(form, FormData)
    assert form.multi_items() == []


# --- UploadFile ------------------------------------------------------------------------
async def test_upload_file_moves_disk_io_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    calls: list[Callable[[], Any]] = []
    real = loop.run_in_executor

    def spy(executor: Any, func: Callable[[], Any], *args: Any) -> Any:
        calls.append(func)
        return real(executor, func, *args)

    monkeypatch.setattr(loop, "run_in_executor", spy)
    file = UploadFile("a.bin", spool_size=10)
    await file.write(b"12345")
    assert calls == []  # still in memory
    await file.write(b"67890abcdef")  # this write rolls over to disk
    assert len(calls) == 1
    assert file.file._rolled  # type: ignore[attr-defined]
    await file.seek(0)
    assert await file.read() == b"1234567890abcdef"
    assert file.size == 16
    assert len(calls) == 3
    await file.close()
    assert file.file.closed
