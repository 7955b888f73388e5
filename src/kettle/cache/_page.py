"""Whole responses from the cache (``cache_page``) and conditional requests (ETag, 304).

``cache_page`` stores what a handler answered a GET with and sends it again for
``ttl`` seconds without running the handler. It stores only what is the same for
everybody: a 200, with no ``Set-Cookie``, not ``private``/``no-store``, for a request with
no signed-in user and no ``Authorization``, whose page used no CSRF token and changed no
session. The key holds the URL and the request headers the page varies on: those given
as ``vary=``, those of the response's ``Vary`` header, and ``Cookie`` when the page read
the session. Every cached response carries an ``ETag``; a matching ``If-None-Match``
gets a 304 with no body.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from kettle import csrf
from kettle.requests import Request
from kettle.responses.base import Response

if TYPE_CHECKING:
    import datetime as dt

    from kettle.cache._cache import Cache

F = TypeVar("F", bound=Callable[..., Any])
#: The hidden keyword-only parameter through which Kettle hands the wrapper the request.
REQUEST_PARAMETER = "_kettle_cache_request"
#: The session key of a signed-in user (kettle.auth's ``SESSION_USER``).
_SESSION_USER = "_auth_user_id"
#: Response headers never replayed from the cache.
_DROPPED = frozenset({b"set-cookie", b"date"})
# Copied onto a 304 (RFC 9110 15.4.5).
_KEPT_ON_304 = frozenset({b"etag", b"vary", b"cache-control", b"expires", b"last-modified"})
Entry = tuple[int, list[tuple[bytes, bytes]], bytes]


def etag_for(body: bytes) -> str:
    """A strong ETag for ``body`` (a quoted BLAKE2 digest)::

    response.set_header("etag", etag_for(response.body))
    """
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def not_modified(
    request: Request, *, etag: str | None = None, last_modified: dt.datetime | None = None
) -> bool:
    """Whether the client's copy is current: its ``If-None-Match`` lists ``etag`` (or
    ``*``), or, without ``If-None-Match``, its ``If-Modified-Since`` is not older than
    ``last_modified`` (an aware datetime)::

        if not_modified(request, etag=f'"{article.version}"'):
            return Response(b"", status=304)
    """
    headers = request.headers
    match = headers.get("if-none-match")
    if match is not None:
        if etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date: send the page
    return int(last_modified.timestamp()) <= int(when.timestamp())


def conditional(
    request: Request,
    response: Response,
    *,
    etag: str | None = None,
    last_modified: dt.datetime | None = None,
) -> Response:
    """Give ``response`` an ``ETag`` (``etag``, else a digest of its body) and, when
    given, a ``Last-Modified``; a 304 instead when the client's copy matches::

        return conditional(request, render("article.html", article=a), last_modified=a.updated)

    A ``Template`` is rendered first, so the digest covers the page.
    """
    render_with = getattr(response, "render_with", None)
    if render_with is not None and not getattr(response, "rendered", True):
        render_with(request)
    etag = etag or etag_for(response.body)
    response.set_header("etag", etag)
    if last_modified is not None:
        response.set_header("last-modified", format_datetime(last_modified, usegmt=True))
    if response.status_code == 200 and not_modified(
        request, etag=etag, last_modified=last_modified
    ):
        return _not_modified(response.raw_headers)
    return response


def _not_modified(headers: list[tuple[bytes, bytes]]) -> Response:
    response = Response(b"", status=304)
    response.raw_headers = [(k, v) for k, v in headers if k in _KEPT_ON_304]
    return response


def _personal(request: Request) -> bool:
    if "authorization" in request.headers:
        return True
    user = getattr(request.state, "user", None)
    if user is not None and user.is_authenticated:
        return True
    session = request.session_data
    return session is not None and _SESSION_USER in session


def _vary_of(response: Response) -> set[str]:
    names: set[str] = set()
    for key, value in response.raw_headers:
        if key == b"vary":
            names.update(v.strip().lower() for v in value.decode("latin-1").split(","))
    names.discard("")
    return names


def _storable(
    request: Request, response: Response, declared: Iterable[str]
) -> tuple[str, ...] | None:
    """The headers the page varies on, or None when it must not be stored."""
    if response.status_code != 200 or type(response).__call__ is not Response.__call__:
        return None  # an error, a redirect, or a stream/file with a body of its own
    for key, value in response.raw_headers:
        if key == b"set-cookie":
            return None
        if key == b"cache-control" and (b"private" in value or b"no-store" in value):
            return None
    if csrf._TOKEN_KEY in request.scope:  # NOTE: the page shows a CSRF token
        return None
    session = request.session_data
    if session is not None and session.modified:
        return None  # a Set-Cookie follows
    if _personal(request):
        return None
    vary = _vary_of(response) | set(declared)
    if session is not None and session.accessed:
        vary.add("cookie")
    if "*" in vary:
        return None
    return tuple(sorted(vary))


def _key(request: Request, vary: tuple[str, ...]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(request.url.encode("utf-8", "surrogateescape"))
    # The language kettle.i18n chose (from a cookie, the user or Accept-Language): pages
    # in two languages never share an entry, whatever the page's Vary says.
    language = request.scope.get("kettle.language")
    if language:
        digest.update(b"\0language:" + language.encode("ascii"))
    headers = request.headers
    for name in vary:
        digest.update(b"\0" + headers.get(name, "").encode("latin-1", "replace"))
    return "page:" + digest.hexdigest()


def _entry(response: Response, vary: tuple[str, ...]) -> Entry:
    headers = [(k, v) for k, v in response.raw_headers if k not in _DROPPED and k != b"vary"]
    if vary:
        headers.append((b"vary", ", ".join(vary).encode("latin-1")))
    if not any(k == b"etag" for k, _ in headers):
        headers.append((b"etag", etag_for(response.body).encode("latin-1")))
    return (response.status_code, headers, response.body)


def _replay(request: Request, entry: Entry) -> Response:
    status, headers, body = entry
    etag = next((v.decode("latin-1") for k, v in headers if k == b"etag"), None)
    if not_modified(request, etag=etag):
        return _not_modified(headers)
    response = Response(body, status=status)
    response.raw_headers = list(headers)
    return response


def cache_page(cache: Cache, ttl: float, *, vary: Iterable[str] = ()) -> Callable[[F], F]:
    """Serve a GET handler's response from ``cache`` for ``ttl`` seconds (see the
    module docstring); ``vary`` names request headers that change the page. Put it
    below the route decorator, on ``def`` or ``async def`` handlers::

        @app.get("/")
        @cache_page(cache, 30, vary=["Accept-Language"])
        def front(): ...
    """
    declared = tuple(sorted({h.lower() for h in vary}))

    def decorate(fn: F) -> F:
        # The headers each URL's page was last found to vary on (per process; a fresh
        # worker starts from ``declared`` and learns on its first store).
        learned: dict[str, tuple[str, ...]] = {}

        def lookup_key(request: Request) -> str | None:
            if request.method not in ("GET", "HEAD") or _personal(request):
                return None
            return _key(request, learned.get(request.url, declared))

        def after(request: Request, response: Response) -> tuple[str, Entry] | None:
            names = _storable(request, response, declared)
            if names is None:
                return None
            learned[request.url] = names
            return _key(request, names), _entry(response, names)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                request: Request = kwargs.pop(REQUEST_PARAMETER)
                key = lookup_key(request)
                if key is None:
                    return await fn(*args, **kwargs)
                entry = await cache.aget(key)
                if entry is not None:
                    return _replay(request, entry)
                response = _rendered(request, await fn(*args, **kwargs))
                stored = after(request, response)
                if stored is None:
                    return response
                await cache.aset(stored[0], stored[1], ttl)
                return _replay(request, stored[1])

            wrapper: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(fn)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                request: Request = kwargs.pop(REQUEST_PARAMETER)
                key = lookup_key(request)
                if key is None:
                    return fn(*args, **kwargs)
                entry = cache.get(key)
                if entry is not None:
                    return _replay(request, entry)
                response = _rendered(request, fn(*args, **kwargs))
                stored = after(request, response)
                if stored is None:
                    return response
                cache.set(stored[0], stored[1], ttl)
                return _replay(request, stored[1])

            wrapper = sync_wrapper
        signature = inspect.signature(fn)
        parameters = list(signature.parameters.values())
        hidden = inspect.Parameter(
            REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request
        )
        at = next((i for i, p in enumerate(parameters) if p.kind is p.VAR_KEYWORD), len(parameters))
        parameters.insert(at, hidden)
        # PERF: Kettle reads this signature once at start-up, like any handler's.
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), REQUEST_PARAMETER: Request}
        return cast(F, wrapper)

    return decorate


def serve_cached(
    handler: Callable[..., Any], request: Request, /, *args: Any, **params: Any
) -> Any:
    """Call a ``cache_page`` handler from code of your own rather than as a route, for
    ``request`` (an ``async def`` handler gives a coroutine to await)::

        cached = cache.page(10)(front_page)          # once, at start-up
        return serve_cached(cached, request, page=2)  # in a handler of yours
    """
    return handler(*args, **params, **{REQUEST_PARAMETER: request})


def _rendered(request: Request, rv: Any) -> Response:
    from kettle.app import to_response

    response = to_response(rv)
    render_with = getattr(response, "render_with", None)
    if render_with is not None and not getattr(response, "rendered", True):
        # Rendered here, not after the handler, so the cached body is the page.
        render_with(request)
    return response
