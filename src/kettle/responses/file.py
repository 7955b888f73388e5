"""A file sent from disk in chunks, with validators, conditional requests and byte ranges."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import stat
from collections.abc import Coroutine, Mapping
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import quote

from kettle._types import Message, RawHeaders, Receive, Scope, Send
from kettle.responses.base import Response, encode_headers

_ETAG_RE = re.compile(r'(?:W/)?"[^"]*"')
_CONDITIONAL_HEADERS = frozenset({"if-none-match", "if-modified-since", "range", "if-range"})
_RANGE_SPEC_RE = re.compile(r"(\d*)\s*-\s*(\d*)", re.ASCII)


class _Unsatisfiable(Exception):
    """The Range header names no byte of the file: the answer is 416."""


class FileResponse(Response):
    """Send the file at ``path`` without loading it into memory.

    The file is stat-ed when the response is sent, so it must exist by then (check first;
    a missing file is a ``RuntimeError``). ``ETag``, ``Last-Modified`` and
    ``Accept-Ranges`` are added, and GET/HEAD requests are answered with ``304 Not
    Modified`` (``If-None-Match``/``If-Modified-Since``) or ``206 Partial Content`` (one
    ``Range``, honouring ``If-Range``). A ``Range`` listing several ranges gets the whole
    file with 200: multipart/byteranges is rarely worth its cost for static content.
    ``filename`` makes browsers download the file under that name::

        return FileResponse("reports/2024.pdf", filename="Rapport année 2024.pdf")
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        chunk_size: int = 64 * 1024,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"FileResponse chunk_size must be a positive int, not {chunk_size!r}.")
        self.path = os.fspath(path)
        self.status_code = status
        self.filename = filename
        self.stat_result = stat_result
        self.chunk_size = chunk_size
        self.body = b""
        if media_type is None:
            media_type = mimetypes.guess_type(filename or self.path)[0]
        self.media_type = media_type or "application/octet-stream"
        self.raw_headers = encode_headers(headers)
        names = {k for k, _ in self.raw_headers}
        if b"content-type" not in names:
            content_type = self.media_type
            if content_type.startswith("text/") and "charset=" not in content_type:
                content_type += "; charset=" + self.charset
            self.raw_headers.insert(0, (b"content-type", content_type.encode("latin-1")))
        if filename is not None and b"content-disposition" not in names:
            self.raw_headers.append((b"content-disposition", _content_disposition(filename)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        st = self.stat_result
        if st is None:
            st = await loop.run_in_executor(None, self._stat)
        method = scope.get("method", "GET")
        status, headers, start, length = self._plan(st, scope)
        if status in (304, 416) or method == "HEAD" or length == 0:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        file = await loop.run_in_executor(None, self._open_at, start)
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if length <= self.chunk_size:
                # PERF: most static files fit in one chunk; skip the disconnect watcher task.
                await self._send_chunks(file, length, send)
            else:
                await _until_disconnect(self._send_chunks(file, length, send), receive)
        finally:
            await loop.run_in_executor(None, file.close)

    def _plan(self, st: os.stat_result, scope: Scope) -> tuple[int, RawHeaders, int, int]:
        """Status, headers, first byte and byte count to send for this request."""
        size = st.st_size
        given = {k for k, _ in self.raw_headers}
        headers = list(self.raw_headers)
        if b"etag" not in given:
            # NOTE: a strong tag, so If-Range can match it; nanosecond mtime plus size
            # changes whenever the content can have changed.
            headers.append((b"etag", f'"{st.st_mtime_ns:x}-{size:x}"'.encode()))
        if b"last-modified" not in given:
            headers.append((b"last-modified", formatdate(st.st_mtime, usegmt=True).encode()))
        headers.append((b"accept-ranges", b"bytes"))
        full = (self.status_code, [*headers, (b"content-length", str(size).encode())], 0, size)
        if self.status_code != 200 or scope.get("method", "GET") not in ("GET", "HEAD"):
            return full  # only a plain 200 to GET/HEAD has conditional and range semantics
        etag = next((v.decode("latin-1") for k, v in headers if k == b"etag"), "")
        mtime = int(st.st_mtime)
        request = {
            name: v.decode("latin-1")
            for k, v in scope.get("headers", ())
            if (name := k.decode("latin-1")) in _CONDITIONAL_HEADERS
        }
        # A 304 or 416 repeats validators and caching headers but describes no body.
        bodiless = [(k, v) for k, v in headers if not k.startswith(b"content-")]
        if _not_modified(request, etag, mtime):
            return 304, bodiless, 0, 0
        range_header = request.get("range")
        if not range_header or not _if_range_holds(request.get("if-range"), etag, mtime):
            return full
        try:
            byte_range = _parse_range(range_header, size)
        except _Unsatisfiable:
            bodiless += [(b"content-range", f"bytes */{size}".encode()), (b"content-length", b"0")]
            return 416, bodiless, 0, 0
        if byte_range is None:
            return full
        first, last = byte_range
        headers.append((b"content-range", f"bytes {first}-{last}/{size}".encode()))
        headers.append((b"content-length", str(last - first + 1).encode()))
        return 206, headers, first, last - first + 1

    def _stat(self) -> os.stat_result:
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            raise RuntimeError(
                f"FileResponse: no file at {self.path!r}; check that it exists before "
                "returning it (or raise HTTPException(404))."
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise RuntimeError(f"FileResponse: {self.path!r} is not a regular file.")
        return st

    def _open_at(self, start: int) -> BinaryIO:
        # PERF: open and seek in one trip to the thread pool.
        file = open(self.path, "rb")  # noqa: SIM115 - closed by __call__
        if start:
            file.seek(start)
        return file

    async def _send_chunks(self, file: BinaryIO, length: int, send: Send) -> None:
        loop = asyncio.get_running_loop()
        remaining = length
        while remaining > 0:
            # PERF: blocking reads run in the default executor so the event loop stays free.
            chunk = await loop.run_in_executor(None, file.read, min(self.chunk_size, remaining))
            if not chunk:  # the file shrank while it was sent; end the body where it ends
                break
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0:
            await send({"type": "http.response.body", "body": b""})


async def _until_disconnect(sending: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run the ``sending`` coroutine, stopping early if the client goes away."""

    async def wait_disconnect() -> None:
        message: Message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()

    # NOTE: servers may drop sends to a closed connection silently; without this watcher
    # a client that aborts a large download would still make us read the whole file.
    sender = asyncio.ensure_future(sending)
    watcher = asyncio.ensure_future(wait_disconnect())
    try:
        done, _ = await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
    if sender in done:
        sender.result()


def _content_disposition(filename: str) -> bytes:
    cleaned = "".join(c for c in filename if c.isprintable())
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in cleaned)
    value = f'attachment; filename="{fallback}"'
    if fallback != cleaned:
        # RFC 6266/5987: browsers prefer filename* and decode it as UTF-8.
        value += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return value.encode("latin-1")


def _not_modified(request: Mapping[str, str], etag: str, mtime: int) -> bool:
    if_none_match = request.get("if-none-match")
    if if_none_match is not None:
        # RFC 9110 13.1.2: weak comparison, and If-Modified-Since is then ignored.
        if if_none_match.strip() == "*":
            return True
        ours = etag.removeprefix("W/")
        return any(tag.removeprefix("W/") == ours for tag in _ETAG_RE.findall(if_none_match))
    since = _parse_date(request.get("if-modified-since"))
    return since is not None and mtime <= since


def _if_range_holds(if_range: str | None, etag: str, mtime: int) -> bool:
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        # Strong comparison: a weak tag never lets a range through.
        return not etag.startswith("W/") and if_range == etag
    return _parse_date(if_range) == mtime


def _parse_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` byte positions asked for, or None to send everything."""
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    specs = [spec for spec in ranges.split(",") if spec.strip()]
    if len(specs) != 1:
        return None  # several ranges (or none): the whole file, see the class docstring
    match = _RANGE_SPEC_RE.fullmatch(specs[0].strip())
    if match is None:
        return None
    try:
        first = int(match[1]) if match[1] else None
        last = int(match[2]) if match[2] else None
    except ValueError:  # more digits than int() accepts; no file is that large
        return None
    if first is None:
        if last is None:
            return None
        if last == 0 or size == 0:
            raise _Unsatisfiable
        return max(size - last, 0), size - 1
    if last is not None and last < first:
        return None  # malformed: RFC 9110 says ignore the header
    if first >= size:
        raise _Unsatisfiable
    return first, size - 1 if last is None else min(last, size - 1)


__all__ = ["FileResponse"]
