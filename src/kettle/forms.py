"""Form bodies: url-encoded and multipart parsing, with uploads spooled to disk past a size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    QuerystringParser,
    parse_options_header,
)

from kettle._config import FormLimits
from kettle.datastructures import Headers, MultiDict
from kettle.exceptions import BadRequest, HTTPException

if TYPE_CHECKING:
    from kettle.requests import Request

T = TypeVar("T")

_URLENCODED = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"


class UploadFile:
    """A file from a multipart form, in memory while small and on disk past ``spool_size``.

    The async methods run in a worker thread once the file is on disk, so a large upload
    never blocks the event loop. Never use ``filename`` as a path: the client chose it::

        avatar = (await request.form())["avatar"]
        if isinstance(avatar, UploadFile) and avatar.content_type == "image/png":
            save_avatar(await avatar.read())
    """

    __slots__ = ("_spool_size", "content_type", "file", "filename", "headers", "size")

    def __init__(
        self,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        headers: Headers | None = None,
        *,
        spool_size: int = 1024 * 1024,
    ) -> None:
        #: The file's name as the client sent it (``"photo.png"``), or None. Untrusted:
        #: show it, never build a path from it.
        self.filename = filename
        #: The media type the client declared for the part (``"image/png"``); untrusted,
        #: check the content itself when it matters.
        self.content_type = content_type
        #: All the headers of the file's part of the multipart body.
        self.headers = headers if headers is not None else Headers([])
        #: Bytes written so far.
        self.size = 0
        self._spool_size = spool_size
        # The form owns the file and closes it in ``close()``; no ``with`` block fits.
        #: The underlying file object, for synchronous code (``shutil.copyfileobj``, image
        #: libraries) in a worker thread; async code uses ``read``/``seek``.
        self.file: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=spool_size)  # noqa: SIM115

    def _on_disk(self, extra: int = 0) -> bool:
        # NOTE: SpooledTemporaryFile keeps "rolled over" private; if the attribute ever
        # goes away, assume disk (a thread hop is slower, never wrong). A write that
        # crosses the threshold counts as disk too: it copies the buffer to the file.
        return bool(getattr(self.file, "_rolled", True)) or self.size + extra > self._spool_size

    async def _run(self, on_disk: bool, func: Callable[[], T]) -> T:
        # PERF: in-memory calls are faster than the hop to a thread, so only disk I/O moves.
        if on_disk:
            return await asyncio.get_running_loop().run_in_executor(None, func)
        return func()

    async def write(self, data: bytes) -> None:
        """Append ``data`` (at the current position) and count it in ``size``."""
        await self._run(self._on_disk(len(data)), lambda: self.file.write(data))
        self.size += len(data)

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes from the current position; all that is left by default."""
        return await self._run(self._on_disk(), lambda: self.file.read(size))

    async def seek(self, offset: int) -> None:
        """Move to byte ``offset``; ``await upload.seek(0)`` reads the file again."""
        await self._run(self._on_disk(), lambda: self.file.seek(offset))

    async def close(self) -> None:
        """Close the file; a file on disk is deleted."""
        await self._run(self._on_disk(), self.file.close)

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, size={self.size}, {self.content_type!r})"


class FormData(MultiDict[str | UploadFile]):
    """The parsed form: text fields as ``str``, uploads as ``UploadFile``.

    ::

        form = await request.form()
        tags = form.getlist("tag")
        await form.close()  # releases the temporary files of the uploads
    """

    __slots__ = ()

    async def close(self) -> None:
        """Close every uploaded file in the form."""
        for _, value in self.multi_items():
            if isinstance(value, UploadFile):
                await value.close()


async def parse_form(request: Request, limits: FormLimits) -> FormData:
    """Stream ``request``'s body through the parser its Content-Type names.

    Bad bodies are client errors: malformed or non-UTF-8 input is a 400, a form over
    ``limits`` a 413, a body that is not a form a 415. An empty body is an empty form::

        form = await parse_form(request, FormLimits(max_fields=20, max_files=0))
    """
    content_type = request.headers.get("content-type")
    media_type, params = parse_options_header(content_type)
    if media_type == _URLENCODED:
        charset = params.get(b"charset", b"utf-8").decode("latin-1")
        return await _parse_urlencoded(request, limits, charset)
    if media_type == _MULTIPART:
        boundary = params.get(b"boundary")
        if not boundary:
            raise BadRequest(
                "The multipart/form-data Content-Type has no boundary parameter, so its parts "
                "cannot be found; let the HTTP client set the header instead of setting it by hand."
            )
        return await _parse_multipart(request, limits, boundary)
    async for chunk in request.stream():
        if chunk:
            got = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
            raise HTTPException(
                415,
                f"Expected a form body (application/x-www-form-urlencoded or "
                f"multipart/form-data), got {got}.",
            )
    return FormData()


def _decode(raw: bytes | bytearray, charset: str, what: str) -> str:
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid {charset.upper()}.") from None


def _too_many(kind: str, limit: int, setting: str) -> HTTPException:
    return HTTPException(413, f"The form has more than {limit} {kind} ({setting}).")


def _too_big(what: str, limit: int) -> HTTPException:
    return HTTPException(413, f"{what} is larger than {limit} bytes (max_form_field_size).")


async def _parse_urlencoded(request: Request, limits: FormLimits, charset: str) -> FormData:
    try:
        # NOTE: encode, not decode: b"".decode() skips the codec lookup for empty input,
        # and only encoding refuses bytes-to-bytes codecs such as "base64".
        "".encode(charset)
    except LookupError:
        raise HTTPException(
            415, f"The form's charset {charset!r} is not supported; send it as UTF-8."
        ) from None
    items: list[tuple[str, str | UploadFile]] = []
    name, value = bytearray(), bytearray()
    # NOTE: the parser hands over raw, percent-encoded bytes, up to three per decoded
    # byte; the raw cap bounds memory while streaming, the exact check runs on decoding.
    raw_cap = 3 * limits.max_field_size

    def on_field_start() -> None:
        if len(items) >= limits.max_fields:
            raise _too_many("fields", limits.max_fields, "max_form_fields")
        name.clear()
        value.clear()

    def on_field_name(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])
        if len(name) > raw_cap:
            raise _too_big("A form field name", limits.max_field_size)

    def on_field_data(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])
        if len(value) > raw_cap:
            key = _decode(_unquote(name), charset, "A form field name")
            raise _too_big(f"The form field {key!r}", limits.max_field_size)

    def on_field_end() -> None:
        key = _decode(_unquote(name), charset, "A form field name")
        decoded = _unquote(value)
        if len(decoded) > limits.max_field_size:
            raise _too_big(f"The form field {key!r}", limits.max_field_size)
        items.append((key, _decode(decoded, charset, f"The form field {key!r}")))

    parser = QuerystringParser(
        callbacks={
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:  # only strict parsing raises; kept as a safety net
        raise BadRequest(f"The url-encoded form is malformed: {exc}.") from None
    return FormData(items)


def _unquote(raw: bytearray) -> bytes:
    return unquote_to_bytes(bytes(raw).replace(b"+", b" "))


class _Multipart:
    """Collects fields and files from MultipartParser's callbacks.

    Callbacks are synchronous, so file bytes wait in ``pending`` until the caller
    can ``await`` the writes, once per chunk fed to the parser.
    """

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.items: list[tuple[str, str | UploadFile]] = []
        self.files: list[UploadFile] = []
        self.pending: list[tuple[UploadFile, bytes]] = []
        self.fields = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.value = bytearray()
        self.file: UploadFile | None = None

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self.on_part_begin,
                "on_header_field": lambda data, start, end: self.header_name.extend(
                    data[start:end]
                ),
                "on_header_value": lambda data, start, end: self.header_value.extend(
                    data[start:end]
                ),
                "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished,
                "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end,
            },
        )

    def on_part_begin(self) -> None:
        self.headers = []
        self.value.clear()
        self.file = None

    def on_header_end(self) -> None:
        self.headers.append((bytes(self.header_name), bytes(self.header_value)))
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        headers = Headers(self.headers)
        disposition = headers.get("content-disposition")
        _, params = parse_options_header(disposition)
        if b"name" not in params:
            raise BadRequest(
                "A multipart part has no name: each part needs a header like "
                "'Content-Disposition: form-data; name=\"field\"'."
            )
        self.name = _decode(params[b"name"], "utf-8", "A multipart field name")
        limits = self.limits
        if b"filename" not in params:
            self.fields += 1
            if self.fields > limits.max_fields:
                raise _too_many("fields", limits.max_fields, "max_form_fields")
            return
        if len(self.files) >= limits.max_files:
            raise _too_many("files", limits.max_files, "max_form_files")
        self.file = UploadFile(
            filename=_decode(params[b"filename"], "utf-8", f"The file name of {self.name!r}"),
            content_type=headers.get("content-type") or "application/octet-stream",
            headers=headers,
            spool_size=limits.spool_size,
        )
        self.files.append(self.file)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.pending.append((self.file, data[start:end]))
            return
        self.value.extend(data[start:end])
        if len(self.value) > self.limits.max_field_size:
            raise _too_big(f"The form field {self.name!r}", self.limits.max_field_size)

    def on_part_end(self) -> None:
        if self.file is not None:
            self.items.append((self.name, self.file))
        else:
            text = _decode(self.value, "utf-8", f"The form field {self.name!r}")
            self.items.append((self.name, text))


async def _parse_multipart(request: Request, limits: FormLimits, boundary: bytes) -> FormData:
    collector = _Multipart(limits)
    received = False
    try:
        try:
            parser = collector.parser(boundary)
            async for chunk in request.stream():
                received = received or bool(chunk)
                parser.write(chunk)
                for upload, data in collector.pending:
                    await upload.write(data)
                collector.pending.clear()
            parser.finalize()
        except FormParserError as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}.") from None
        if received and parser.state != MultipartState.END:
            raise BadRequest(
                "The multipart body ended before its closing boundary; it was probably cut short."
            )
        for upload in collector.files:
            await upload.seek(0)
    except BaseException:
        # NOTE: closed synchronously on purpose: a cancelled task cannot await, and
        # closing an already-unlinked temporary file does no I/O worth a thread.
        for upload in collector.files:
            upload.file.close()
        raise
    return FormData(collector.items)


__all__ = ["FormData", "FormLimits", "UploadFile", "parse_form"]
