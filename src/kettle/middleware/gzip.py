"""Gzip response compression: whole small bodies at once, streams chunk by chunk."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable

from kettle._types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
from kettle.middleware._headers import merge_vary

#: The default ``skip_content_types``: media types sent uncompressed because they are
#: compressed already, or must reach the client as soon as they are written (server-sent
#: events). ``"type/*"`` covers every subtype. Extend it with
#: ``skip_content_types=(*DEFAULT_SKIP_CONTENT_TYPES, "application/pdf")``.
DEFAULT_SKIP_CONTENT_TYPES = (
    "image/*",
    "video/*",
    "audio/*",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "font/woff",
    "font/woff2",
    "text/event-stream",
)

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib writes a gzip header and trailer with these bits.
# No body to compress (204, 304), or a byte range of the uncompressed body (206).
_SKIP_STATUSES = frozenset({204, 206, 304})


@functools.lru_cache(maxsize=64)
def _accepts_gzip(accept_encoding: bytes) -> bool:
    # PERF: clients send a handful of distinct Accept-Encoding values, so each one is
    # parsed once; the bounded cache keeps hostile values from growing memory.
    gzip_q: float | None = None
    star_q: float | None = None
    for item in accept_encoding.split(b","):
        coding, _, params = item.partition(b";")
        q = 1.0
        for param in params.split(b";"):
            key, _, value = param.partition(b"=")
            if key.strip().lower() == b"q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        coding = coding.strip().lower()
        if coding in (b"gzip", b"x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == b"*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def _gzip_headers(headers: RawHeaders, content_length: int | None) -> RawHeaders:
    # Drop Content-Length (re-added when known) and weaken a strong ETag, since the
    # compressed bytes are a different representation of the same resource.
    out: RawHeaders = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            continue
        if lowered == b"etag" and value.startswith(b'"'):
            value = b"W/" + value
        out.append((name, value))
    out.append((b"content-encoding", b"gzip"))
    if content_length is not None:
        out.append((b"content-length", str(content_length).encode()))
    return out


class GZipMiddleware:
    """Compress responses with gzip for clients whose ``Accept-Encoding`` allows it.

    A body sent in one message is compressed whole and given the new
    ``Content-Length``; a streamed body (``more_body=True``) is compressed chunk by
    chunk and flushed after each one, so the client still sees data as it is produced::

        app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)

    Left alone: bodies smaller than ``minimum_size`` bytes (default 500), responses that
    already have a ``Content-Encoding``, ``204``/``304``/``206`` responses, ``HEAD``
    requests, and media types in ``skip_content_types`` (default
    ``DEFAULT_SKIP_CONTENT_TYPES``: images, video, audio, zip/gzip archives, WOFF fonts
    and server-sent events), which are never buffered. A streamed body is compressed
    whatever its size, since the size is unknown when the first chunk arrives.
    Responses that may be compressed get ``Vary: Accept-Encoding`` whether or not this
    one was (too small, ``HEAD``, client without gzip), so caches keep the versions apart.
    ``compresslevel`` runs from 1 (fastest) to 9 (smallest); the default is 6.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 500,
        compresslevel: int = 6,
        skip_content_types: Iterable[str] = DEFAULT_SKIP_CONTENT_TYPES,
    ) -> None:
        if (
            isinstance(compresslevel, bool)
            or not isinstance(compresslevel, int)
            or not 1 <= compresslevel <= 9
        ):
            raise ValueError(
                f"GZipMiddleware compresslevel must be an integer from 1 (fastest) to 9 "
                f"(smallest), got {compresslevel!r}."
            )
        if isinstance(minimum_size, bool) or not isinstance(minimum_size, int) or minimum_size < 0:
            raise ValueError(
                f"GZipMiddleware minimum_size must be a byte count >= 0, got {minimum_size!r}."
            )
        if isinstance(skip_content_types, str):
            raise TypeError(
                "GZipMiddleware skip_content_types must be a list of media types, not the "
                f"string {skip_content_types!r}; write skip_content_types=[{skip_content_types!r}]."
            )
        exact: set[bytes] = set()
        families: set[bytes] = set()
        for media_type in skip_content_types:
            main, slash, sub = media_type.strip().lower().partition("/")
            if not slash or not main or not sub:
                raise ValueError(
                    f"GZipMiddleware skip_content_types entry {media_type!r} is not a media "
                    "type; write 'type/subtype' or 'type/*', e.g. 'image/*'."
                )
            if sub == "*":
                families.add(main.encode())
            else:
                exact.add(f"{main}/{sub}".encode())
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self._skip_exact = frozenset(exact)
        self._skip_families = frozenset(families)

    def _skips_media_type(self, content_type: bytes) -> bool:
        media_type = content_type.partition(b";")[0].strip().lower()
        return (
            media_type in self._skip_exact or media_type.partition(b"/")[0] in self._skip_families
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = b",".join(v for k, v in scope["headers"] if k.lower() == b"accept-encoding")
        responder = _Responder(
            self, send, compress=scope["method"] != "HEAD" and _accepts_gzip(accept)
        )
        await self.app(scope, receive, responder.send)


class _Responder:
    """Per-response state: pass through, hold the start message, or stream compressed."""

    __slots__ = ("compress", "compressor", "middleware", "passthrough", "start", "wrapped")

    def __init__(self, middleware: GZipMiddleware, send: Send, *, compress: bool) -> None:
        self.middleware = middleware
        self.wrapped = send
        self.compress = compress
        self.passthrough = False
        self.start: Message | None = None
        self.compressor: zlib._Compress | None = None

    async def send(self, message: Message) -> None:
        if self.passthrough:
            await self.wrapped(message)
        elif message["type"] == "http.response.start":
            await self._on_start(message)
        elif message["type"] != "http.response.body" or self.start is None:
            # Not a body we understand (e.g. a zero-copy extension): send it as is.
            await self._release(message)
        elif self.compressor is None:
            await self._on_first_body(message)
        else:
            await self._on_next_body(message)

    async def _release(self, message: Message) -> None:
        self.passthrough = True
        if self.start is not None:
            await self.wrapped(self.start)
        await self.wrapped(message)

    async def _on_start(self, message: Message) -> None:
        middleware = self.middleware
        status: int = message["status"]
        headers: RawHeaders = list(message.get("headers", []))
        content_length: int | None = None
        eligible = status >= 200 and status not in _SKIP_STATUSES
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-type":
                eligible = eligible and not middleware._skips_media_type(value)
            elif lowered == b"content-encoding":
                eligible = False
            elif lowered == b"content-length" and value.strip().isdigit():
                content_length = int(value)
        if not eligible:
            self.passthrough = True
            await self.wrapped(message)
            return

        message = {**message, "headers": merge_vary(headers, b"Accept-Encoding")}
        too_small = content_length is not None and content_length < middleware.minimum_size
        if not self.compress or too_small:
            self.passthrough = True
            await self.wrapped(message)
            return
        # Hold the start message: whether to compress depends on the first body message.
        self.start = message

    async def _on_first_body(self, message: Message) -> None:
        assert self.start is not None
        start = self.start
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        compressor = zlib.compressobj(self.middleware.compresslevel, zlib.DEFLATED, _GZIP_WBITS)

        if not more_body:
            if len(body) < self.middleware.minimum_size:
                await self._release(message)
                return
            data = compressor.compress(body) + compressor.flush()
            self.passthrough = True
            await self.wrapped({**start, "headers": _gzip_headers(start["headers"], len(data))})
            await self.wrapped({"type": "http.response.body", "body": data})
            return

        # A stream's total size is unknown, so it is compressed from the first chunk on.
        self.compressor = compressor
        await self.wrapped({**start, "headers": _gzip_headers(start["headers"], None)})
        await self._on_next_body(message)

    async def _on_next_body(self, message: Message) -> None:
        assert self.compressor is not None
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        data = self.compressor.compress(body) if body else b""
        if not more_body:
            data += self.compressor.flush()
            self.passthrough = True
        elif body:
            # PERF: a sync flush costs a few bytes per chunk but hands the client every
            # chunk as soon as the app yields it; without it zlib would sit on small chunks.
            data += self.compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.wrapped({"type": "http.response.body", "body": data, "more_body": more_body})


__all__ = ["DEFAULT_SKIP_CONTENT_TYPES", "GZipMiddleware"]
