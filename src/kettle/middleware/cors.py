"""Cross-Origin Resource Sharing: answer preflights and label cross-origin responses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kettle._types import ASGIApp, Message, RawHeaders, Receive, Scope, Send
from kettle.middleware._headers import merge_vary

#: Request headers a browser may send cross-origin without asking (the Fetch standard's
#: "CORS-safelisted" headers); always allowed, on top of ``allow_headers``.
SAFELISTED_HEADERS = ("accept", "accept-language", "content-language", "content-type")
#: The default ``allow_methods``: the CORS-safelisted methods, which a browser never
#: preflights, so allowing them costs nothing. Add to it for a JSON API:
#: ``allow_methods=(*DEFAULT_METHODS, "PUT", "DELETE")``.
DEFAULT_METHODS = ("GET", "HEAD", "POST")

_ALLOW_ORIGIN = b"access-control-allow-origin"
_ALLOW_CREDENTIALS = b"access-control-allow-credentials"
_EXPOSE_HEADERS = b"access-control-expose-headers"


def _as_list(option: str, value: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        raise TypeError(
            f"CORSMiddleware {option} must be a list of strings, not the string {value!r}; "
            f"write {option}=[{value!r}]."
        )
    return list(value)


class CORSMiddleware:
    """Serve cross-origin requests following the CORS protocol of the Fetch standard.

    A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
    answered here without calling the app: ``204`` when the origin, method and headers
    are all allowed, otherwise ``400`` with a plain-text body naming what was refused.
    Any other request from an allowed origin reaches the app and its response gains
    ``Access-Control-Allow-Origin`` (plus credentials and exposed headers when
    configured). Responses to other origins carry no CORS headers, and requests
    without ``Origin`` pass through untouched::

        app.add_middleware(
            CORSMiddleware,
            allow_origins=["https://app.example.com"],
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization"],
            allow_credentials=True,
        )

    Defaults: no origin is allowed; methods are the safelisted ``GET``, ``HEAD`` and
    ``POST``; headers are only the CORS-safelisted ones (``Accept``, ``Accept-Language``,
    ``Content-Language``, ``Content-Type``), which are always allowed; nothing is exposed;
    credentials are off; browsers may cache a preflight for 600 seconds.

    ``"*"`` in ``allow_origins``, ``allow_methods`` or ``allow_headers`` allows any value.
    A literal ``*`` is sent only where the spec honours it; with ``allow_credentials``
    the request's own origin is echoed instead, and a preflight always echoes the method
    and headers it asked for. ``allow_origin_regex`` must match the whole origin.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Sequence[str] = DEFAULT_METHODS,
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        max_age: int = 600,
    ) -> None:
        self.app = app

        origins = [o.lower() for o in _as_list("allow_origins", allow_origins)]
        for origin in origins:
            if origin not in ("*", "null") and origin.count("/") != 2:
                raise ValueError(
                    f"CORSMiddleware allow_origins entry {origin!r} is not an origin; "
                    "write scheme://host[:port] with no path or trailing slash, "
                    "e.g. 'https://example.com'."
                )
        self._any_origin = "*" in origins
        self._origins = frozenset(origins) - {"*"}
        try:
            self._origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        except re.error as exc:
            raise ValueError(
                f"CORSMiddleware allow_origin_regex {allow_origin_regex!r} is not a valid "
                f"regular expression: {exc}."
            ) from exc
        # The spec forbids "*" on credentialed responses, so echo the origin instead.
        self._send_star = self._any_origin and not allow_credentials

        methods = list(dict.fromkeys(m.upper() for m in _as_list("allow_methods", allow_methods)))
        self._any_method = "*" in methods
        self._methods = frozenset(methods)

        names = [h.lower() for h in _as_list("allow_headers", allow_headers)]
        self._any_header = "*" in names
        names = list(dict.fromkeys([*SAFELISTED_HEADERS, *names]))
        self._headers = frozenset(names)

        if not isinstance(max_age, int) or max_age < 0:
            raise ValueError(
                f"CORSMiddleware max_age must be a whole number of seconds >= 0, got {max_age!r}."
            )

        # Headers every successful preflight carries; only origin-dependent ones are per request.
        preflight: RawHeaders = []
        if not self._any_method:
            preflight.append((b"access-control-allow-methods", ", ".join(methods).encode()))
        if not self._any_header:
            preflight.append((b"access-control-allow-headers", ", ".join(names).encode()))
        if allow_credentials:
            preflight.append((_ALLOW_CREDENTIALS, b"true"))
        preflight.append((b"access-control-max-age", str(max_age).encode()))
        self._preflight_headers = preflight

        simple: RawHeaders = []
        if allow_credentials:
            simple.append((_ALLOW_CREDENTIALS, b"true"))
        exposed = _as_list("expose_headers", expose_headers)
        if exposed:
            simple.append((_EXPOSE_HEADERS, ", ".join(exposed).encode("latin-1")))
        self._simple_headers = simple
        self._replaced = frozenset({_ALLOW_ORIGIN, _ALLOW_CREDENTIALS, _EXPOSE_HEADERS})

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether ``origin`` (as sent in the ``Origin`` header) may read responses.

        ::

            cors = CORSMiddleware(app, allow_origins=["https://a.example"])
            assert cors.is_allowed_origin("https://a.example")
        """
        if self._any_origin or origin.lower() in self._origins:
            return True
        return self._origin_regex is not None and self._origin_regex.fullmatch(origin) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        origin: bytes | None = None
        request_method: bytes | None = None
        request_headers: list[bytes] = []
        # PERF: one pass over the raw headers instead of building a Headers mapping;
        # most requests carry no Origin and leave here after this loop.
        for raw_name, value in scope["headers"]:
            name = raw_name.lower()
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
            elif name == b"access-control-request-headers":
                request_headers.append(value)

        if origin is None:
            await self.app(scope, receive, send)
            return
        origin_str = origin.decode("latin-1")
        if scope["method"] == "OPTIONS" and request_method is not None:
            await self._preflight(
                origin_str, request_method.decode("latin-1"), b",".join(request_headers), send
            )
            return

        allowed = self.is_allowed_origin(origin_str)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = message.get("headers", [])
                if not allowed:
                    message["headers"] = merge_vary(headers, b"Origin")
                elif self._send_star:
                    message["headers"] = [
                        *(h for h in headers if h[0].lower() not in self._replaced),
                        (_ALLOW_ORIGIN, b"*"),
                        *self._simple_headers,
                    ]
                else:
                    kept = [h for h in headers if h[0].lower() not in self._replaced]
                    message["headers"] = [
                        *merge_vary(kept, b"Origin"),
                        (_ALLOW_ORIGIN, origin),
                        *self._simple_headers,
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, origin: str, request_method: str, request_headers: bytes, send: Send
    ) -> None:
        refused: list[str] = []
        if not self.is_allowed_origin(origin):
            refused.append(f"origin {origin!r} is not allowed")
        if not self._any_method and request_method not in self._methods:
            refused.append(f"method {request_method!r} is not allowed")
        asked = [h.strip().lower() for h in request_headers.decode("latin-1").split(",")]
        asked = [h for h in asked if h]
        if not self._any_header:
            refused.extend(f"header {h!r} is not allowed" for h in asked if h not in self._headers)

        if refused:
            body = ("CORS preflight refused: " + "; ".join(refused) + ".\n").encode()
            headers: RawHeaders = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        if self._send_star:
            headers = [(_ALLOW_ORIGIN, b"*"), *self._preflight_headers]
        else:
            headers = [
                (_ALLOW_ORIGIN, origin.encode("latin-1")),
                (b"vary", b"Origin"),
                *self._preflight_headers,
            ]
        if self._any_method:
            headers.append((b"access-control-allow-methods", request_method.encode("latin-1")))
        if self._any_header and asked:
            headers.append((b"access-control-allow-headers", ", ".join(asked).encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


__all__ = ["DEFAULT_METHODS", "SAFELISTED_HEADERS", "CORSMiddleware"]
