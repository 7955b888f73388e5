"""Cross-site request forgery protection, on by default.

Unsafe requests (POST, PUT, PATCH, DELETE) that carry cookies must send the token from
``csrf_token()`` in the form field ``csrf_token`` or the ``X-CSRF-Token`` header, and come
from this site's origin. The secret lives in the session; each page gets it masked with a
fresh random pad, so the token differs on every response (no BREACH compression oracle).
Requests authenticated by a token in the ``Authorization`` header (``Bearer ...``) carry
no ambient credentials and are not checked; Basic and Digest credentials, which browsers
replay by themselves, are.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from kettle._types import TESTING_EXTENSION
from kettle.exceptions import HTTPException

if TYPE_CHECKING:
    from kettle.requests import Request

#: The form field that carries the token in a form post; ``csrf_input()`` in a template
#: writes it: ``<input type="hidden" name="csrf_token" value="...">``.
FIELD_NAME = "csrf_token"
#: The request header that carries the token for JavaScript (``fetch`` with
#: ``headers: {"X-CSRF-Token": token}``); checked before the form field. Lower case, as
#: ASGI gives header names.
HEADER_NAME = "x-csrf-token"
SESSION_KEY = "_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_SECRET_BYTES = 32
#: Where the token of the current response is kept (``get_token``).
_TOKEN_KEY = "kettle.csrf_token"
F = TypeVar("F")


class CSRFError(HTTPException):
    """403: the request failed the CSRF check; ``reason`` says which part failed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            403,
            f"CSRF check failed: {reason} Reload the page and submit the form again; API "
            "clients send an Authorization header or the X-CSRF-Token header.",
        )


def csrf_exempt(fn: F) -> F:
    """Skip the CSRF check for this handler (webhooks signed some other way)::

    @app.post("/hooks/payment")
    @csrf_exempt
    async def payment(request: Request): ...
    """
    fn.__kettle_csrf_exempt__ = True  # type: ignore[attr-defined]
    return fn


def is_exempt(fn: Any) -> bool:
    """Whether ``csrf_exempt`` marked ``fn``."""
    return bool(getattr(fn, "__kettle_csrf_exempt__", False))


def _secret(request: Request) -> bytes:
    stored = request.session.get(SESSION_KEY)
    if isinstance(stored, str):
        try:
            raw = base64.urlsafe_b64decode(stored)
            if len(raw) == _SECRET_BYTES:
                return raw
        except ValueError:
            pass
    return rotate_token(request)


def rotate_token(request: Request) -> bytes:
    """Give the session a new CSRF secret (done on login); returns it."""
    raw = os.urandom(_SECRET_BYTES)
    request.session[SESSION_KEY] = base64.urlsafe_b64encode(raw).decode()
    return raw


def get_token(request: Request) -> str:
    """A token for this response, masked with a fresh pad; in a template::

    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">

    Every form of one response gets the same token; the next response gets a new pad.
    """
    # PERF: a list page with a vote form per row asks 30 times per response. Masking is
    # there so that the token differs between responses (BREACH), so one pad per response
    # is enough: keep the token in the scope, keyed by the session's secret (a login
    # rotates the secret, and the next call then masks the new one).
    stored = request.session.get(SESSION_KEY)
    kept = request.scope.get(_TOKEN_KEY)
    if kept is not None and stored is not None and kept[0] == stored:
        return kept[1]  # type: ignore[no-any-return]
    secret = _secret(request)
    pad = os.urandom(_SECRET_BYTES)
    masked = (int.from_bytes(secret) ^ int.from_bytes(pad)).to_bytes(_SECRET_BYTES)
    token = base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")
    request.scope[_TOKEN_KEY] = (request.session.get(SESSION_KEY), token)
    return token


def _unmask(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    if len(raw) != 2 * _SECRET_BYTES:
        return None
    pad, masked = raw[:_SECRET_BYTES], raw[_SECRET_BYTES:]
    return bytes(a ^ b for a, b in zip(pad, masked, strict=True))


#: Authorization schemes a browser may attach by itself (cached credentials): these are
#: ambient like cookies, so they do not exempt a request from the check.
AMBIENT_SCHEMES = frozenset({"basic", "digest", "negotiate", "ntlm"})


def needs_check(request: Request) -> bool:
    """Unsafe method and cookies present, unless a token scheme (``Bearer``...) authorises it."""
    if request.method in SAFE_METHODS:
        return False
    headers = request.headers
    if "cookie" not in headers:
        return False
    authorization = headers.get("authorization")
    if authorization is None:
        return True
    scheme = authorization.split(" ", 1)[0].lower()
    return scheme in AMBIENT_SCHEMES


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request, trusted: frozenset[str]) -> None:
    """The Origin (or, over HTTPS without Origin, the Referer) must be this site or trusted."""
    own = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("origin")
    if origin is not None:
        if origin.lower() != own and origin.lower() not in trusted:
            raise CSRFError(f"the request came from {origin}, not from {own}.")
        return
    if request.scheme == "https":
        referer = request.headers.get("referer")
        if referer is None:
            raise CSRFError("an HTTPS request must send a Referer or an Origin header.")
        source = _origin_of(referer)
        if source != own and source not in trusted:
            raise CSRFError(f"the Referer {referer} is not on {own}.")


def _filled_in_for_tests(request: Request) -> str | None:
    """The session's own token when a test client asked for it (``kettle.testing``, whose
    ``TestClient`` fills in tokens unless ``enforce_csrf=True``); None for any other client.

    No server sets this ASGI extension, so a real request can never be waved through.
    """
    # PERF: reached only when a request sent no token, which real clients rarely do.
    testing = (request.scope.get("extensions") or {}).get(TESTING_EXTENSION)
    if testing is None or not testing.get("fill_csrf"):
        return None
    return get_token(request)


async def check(request: Request, trusted: frozenset[str]) -> None:
    """Raise ``CSRFError`` unless the request passes the origin and token checks."""
    check_origin(request, trusted)
    token = request.headers.get(HEADER_NAME)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD_NAME)
            token = value if isinstance(value, str) else None
    if not token:
        token = _filled_in_for_tests(request)
    if not token:
        raise CSRFError(f"the {FIELD_NAME} form field (or X-CSRF-Token header) is missing.")
    stored = request.session.get(SESSION_KEY)
    submitted = _unmask(token)
    if not isinstance(stored, str) or submitted is None:
        raise CSRFError("the token is not valid for this session (it may have expired).")
    from hmac import compare_digest

    expected = base64.urlsafe_b64decode(stored)
    if not compare_digest(submitted, expected):
        raise CSRFError("the token does not match this session.")


__all__ = [
    "FIELD_NAME",
    "HEADER_NAME",
    "CSRFError",
    "check",
    "csrf_exempt",
    "get_token",
    "rotate_token",
]
