"""Buffered responses: the body is known before the first byte is sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from kettle._types import RawHeaders, Receive, Scope, Send

_encoder: Callable[[Any], bytes] | None = None


def _json_encode(content: Any) -> bytes:
    # PERF: one msgspec encoder for the process (reusable and thread-safe), made on the
    # first JSON response so that importing Kettle does not import msgspec.
    global _encoder
    if _encoder is None:
        import msgspec

        _encoder = msgspec.json.Encoder().encode
    return _encoder(content)


SameSite = Literal["lax", "strict", "none"]


def encode_headers(headers: Mapping[str, str] | None) -> RawHeaders:
    """Turn a ``{name: value}`` mapping into ASGI raw headers (lower-cased names)."""
    if not headers:
        return []
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


_CONTENT_TYPES: dict[tuple[str, str], bytes] = {}


def content_type(media_type: str, charset: str) -> bytes:
    """The Content-Type value for a media type; text types name their charset."""
    value = _CONTENT_TYPES.get((media_type, charset))
    if value is None:
        text = media_type
        if text.startswith("text/") and "charset=" not in text:
            text += "; charset=" + charset
        value = _CONTENT_TYPES[(media_type, charset)] = text.encode("latin-1")
    return value


class Response:
    """An HTTP response with a body held in memory.

    ::

        return Response("pong", media_type="text/plain", headers={"X-Ping": "1"})
    """

    #: The body's media type, sent as ``Content-Type`` (with ``; charset=...`` added for
    #: ``text/*`` types); None sends no ``Content-Type``. A subclass sets its own
    #: (``media_type = "application/xml"``); the ``media_type=`` argument overrides it.
    media_type: str | None = None
    #: The encoding a ``str`` body is written in, and the charset named in a ``text/*``
    #: ``Content-Type``.
    charset = "utf-8"

    def __init__(
        self,
        content: Any = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status_code = status
        if media_type is not None:
            self.media_type = media_type
        self.body = self.render(content)
        self.raw_headers = encode_headers(headers)
        self._init_headers()

    def render(self, content: Any) -> bytes:
        """Encode ``content`` to the bytes sent on the wire."""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        raise TypeError(
            f"{type(self).__name__} cannot send a {type(content).__name__}; "
            "pass bytes or str, or use JSONResponse for data."
        )

    def _init_headers(self) -> None:
        # PERF: most responses set no headers of their own; skip the name scan for them.
        names = {k for k, _ in self.raw_headers} if self.raw_headers else ()
        extra: RawHeaders = []
        # 1xx, 204 and 304 responses carry no body and so no Content-Length.
        if b"content-length" not in names and not (
            self.status_code < 200 or self.status_code in (204, 304)
        ):
            extra.append((b"content-length", str(len(self.body)).encode("latin-1")))
        if self.media_type is not None and b"content-type" not in names:
            extra.append((b"content-type", content_type(self.media_type, self.charset)))
        self.raw_headers = extra + self.raw_headers if self.raw_headers else extra

    @property
    def headers(self) -> dict[str, str]:
        """The response headers as a plain dict (last value wins); for reading and tests."""
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.raw_headers}

    def set_header(self, name: str, value: str) -> None:
        """Set ``name`` to ``value``, replacing any earlier value."""
        key = name.lower().encode("latin-1")
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != key]
        self.raw_headers.append((key, value.encode("latin-1")))

    def add_header(self, name: str, value: str) -> None:
        """Append a header, keeping earlier values (as ``Set-Cookie`` needs)."""
        self.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: SameSite | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header::

        response.set_cookie("theme", "dark", max_age=86400, httponly=True)
        """
        from http.cookies import SimpleCookie

        cookie: SimpleCookie = SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            from email.utils import format_datetime

            morsel["expires"] = format_datetime(expires, usegmt=True)
        morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            morsel["samesite"] = samesite
        self.add_header("set-cookie", morsel.OutputString())

    def delete_cookie(self, key: str, *, path: str = "/", domain: str | None = None) -> None:
        """Tell the browser to forget a cookie."""
        self.set_cookie(key, max_age=0, path=path, domain=domain)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status_code}>"


class HTMLResponse(Response):
    """An HTML page; a ``str`` returned by a handler becomes one."""

    #: Sent as ``Content-Type: text/html; charset=utf-8``.
    media_type = "text/html"


class PlainTextResponse(Response):
    """Plain text::

    return PlainTextResponse("ok")
    """

    #: Sent as ``Content-Type: text/plain; charset=utf-8``.
    media_type = "text/plain"


class JSONResponse(Response):
    """JSON encoded with msgspec (dicts, lists, Structs, dataclasses, datetimes, UUIDs...).

    ::

        return JSONResponse({"ok": True}, status=201)
    """

    #: Sent as ``Content-Type: application/json`` (JSON is always UTF-8).
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _json_encode(content)


class RedirectResponse(Response):
    """Send the client elsewhere; 302 by default, 303 after a form post, 307/308 to keep the method.

    ::

        return RedirectResponse(app.url_for("article", id=7), status=303)
    """

    def __init__(
        self, url: str, status: int = 302, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(b"", status=status, headers=headers)
        self.raw_headers.append((b"location", quote(url, safe=":/%#?=@[]!$&'()*+,;~").encode()))


__all__ = [
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "encode_headers",
]
