"""The request object handed to handlers, hooks and templates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from kettle._types import Receive, Scope
from kettle.datastructures import Headers, MultiDict
from kettle.exceptions import BadRequest, HTTPException
from kettle.routing import files_root

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.forms import FormData
    from kettle.routing import Route
    from kettle.sessions import Session


_UNREAD: Any = object()


class Address(NamedTuple):
    """The client's host and port (port is 0 when it came from a proxy header)."""

    #: The client's IP address (``"203.0.113.7"``, or ``"2001:db8::1"``), from a trusted
    #: proxy's ``Forwarded`` or ``X-Forwarded-For`` when there is one.
    host: str
    #: The client's TCP port; 0 when a proxy header gave the address without one.
    port: int


class ClientDisconnect(Exception):
    """The client went away before sending the whole body."""


class State:
    """An attribute bag for per-request (``request.state``) or per-app (``app.state``) values."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"state has no attribute {name!r}; set it first (state.{name} = ...) "
            "in a hook or at start-up"
        )


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, f"The request body is larger than the limit of {limit} bytes (max_body_size)."
    )


class Request:
    """An incoming HTTP request.

    Handlers receive it by declaring a parameter typed ``Request``::

        @app.post("/echo")
        async def echo(request: Request):
            return {"you_sent": await request.json(), "from": request.client.host}
    """

    __slots__ = (
        "_body",
        "_client",
        "_cookies",
        "_csp_nonce",
        "_form",
        "_headers",
        "_json",
        "_query",
        "_receive",
        "_stream_consumed",
        "app",
        "path_params",
        "route",
        "scope",
        "session_data",
        "state",
    )

    def __init__(self, scope: Scope, receive: Receive, app: App) -> None:
        #: The ASGI connection scope the server sent (``scope["headers"]``, ...).
        self.scope = scope
        self._receive = receive
        #: The ``App`` serving the request (``request.app.state``, ``request.app.url_for``).
        self.app = app
        #: The path's parameters, converted: ``{"id": 42}`` for ``/posts/<int:id>``.
        self.path_params: dict[str, Any] = {}
        #: The route that matched, once routing is done (``request.route.name``); None
        #: before that and when no route matched (a 404 page).
        self.route: Route | None = None
        #: Values hooks and middleware keep for this request only:
        #: ``request.state.started = time.monotonic()``.
        self.state = State()
        #: The session as loaded so far, without loading one: None when the request
        #: carried no session cookie and nothing has read ``request.session`` yet.
        self.session_data: Session | None = None
        self._headers: Headers | None = None
        self._query: MultiDict[str] | None = None
        self._cookies: dict[str, str] | None = None
        self._body: bytes | None = None
        self._json: Any = _UNREAD
        self._form: FormData | None = None
        self._client: Address | None = None
        self._csp_nonce: str | None = None
        self._stream_consumed = False

    # --- the request line -------------------------------------------------------------
    @property
    def method(self) -> str:
        """``GET``, ``POST``, ..."""
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def path(self) -> str:
        """The decoded path, without the query string."""
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, as seen by the client (trusted proxies considered)."""
        return self.scope.get("scheme", "http")  # type: ignore[no-any-return]

    @property
    def host(self) -> str:
        """The ``Host`` header, or the server address when the client sent none."""
        host = self.headers.get("host")
        if host:
            return host
        server = self.scope.get("server")
        return f"{server[0]}:{server[1]}" if server else "localhost"

    @property
    def url(self) -> str:
        """The full URL the client asked for."""
        query = self.scope.get("query_string", b"")
        root = self.scope.get("root_path", "")
        url = f"{self.scheme}://{self.host}{root}{self.path}"
        return f"{url}?{query.decode('latin-1')}" if query else url

    # --- headers, query, cookies ---------------------------------------------------
    @property
    def headers(self) -> Headers:
        """Case-insensitive request headers."""
        if self._headers is None:
            self._headers = Headers(self.scope["headers"])
        return self._headers

    @property
    def query(self) -> MultiDict[str]:
        """Query string parameters: ``request.query["page"]``, ``request.query.getlist("tag")``."""
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("The query string is not valid UTF-8.") from None
            self._query = MultiDict(parse_qsl(text, keep_blank_values=True))
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies the client sent; malformed pairs are skipped."""
        if self._cookies is None:
            jar: dict[str, str] = {}
            header = self.headers.get("cookie")
            if header:
                from http.cookies import SimpleCookie

                for chunk in header.split(";"):
                    name, sep, value = chunk.strip().partition("=")
                    if sep and name:
                        parsed: SimpleCookie = SimpleCookie()
                        try:
                            parsed.load(f"{name}={value}")
                            jar[name] = parsed[name].value if name in parsed else value
                        except Exception:  # a cookie the stdlib refuses is still a value
                            jar[name] = value
            self._cookies = jar
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's address; behind a trusted proxy, the address it forwarded (the app
        resolves ``Forwarded``/``X-Forwarded-For`` once, before routing: see
        ``trusted_proxies``)."""
        if self._client is None:
            peer = self.scope.get("client")
            if peer is None:
                return None
            self._client = Address(peer[0], peer[1])
        return self._client

    @property
    def id(self) -> str:
        """The request's id: the client's or proxy's ``X-Request-ID`` when well-formed (up
        to 128 safe characters), else a fresh uuid4 hex; ``kettle.logs.RequestLogs`` echoes
        it in the response and stamps log records with it::

            log.info("charging %s", request.id)
        """
        rid = self.scope.get("kettle.request_id")
        if rid is None:
            from kettle import _requestid

            rid = self.scope["kettle.request_id"] = _requestid.accept(
                next((v for k, v in self.scope["headers"] if k == b"x-request-id"), None)
            )
        return rid

    # --- the body --------------------------------------------------------------------
    async def stream(self) -> AsyncIterator[bytes]:
        """The body as it arrives, chunk by chunk, within ``max_body_size``.

        ::

            async for chunk in request.stream():
                sink.write(chunk)
        """
        if self._body is not None:
            yield self._body
            return
        if self._stream_consumed:
            raise RuntimeError("The request body was already streamed; it can only be read once.")
        self._stream_consumed = True
        limit = self.app.config.max_body_size
        received = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                # NOTE: enforced while streaming, so a chunked upload with no
                # Content-Length is refused before it is all in memory.
                raise _too_large(limit)
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def body(self) -> bytes:
        """The whole body as bytes (read once, then cached)."""
        if self._body is None:
            self._body = b"".join([chunk async for chunk in self.stream()])
        return self._body

    async def json(self) -> Any:
        """The body decoded as JSON; malformed, non-UTF-8 or too deeply nested JSON is a 400."""
        if self._json is _UNREAD:
            self._json = decode_json(await self.body())
        return self._json

    async def form(self) -> FormData:
        """The url-encoded or multipart form, with uploaded files spooled to disk past a size."""
        if self._form is None:
            from kettle.forms import parse_form

            self._form = await parse_form(self, self.app.config.form_limits)
        return self._form

    # --- conveniences ----------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The user's session, a dict saved in a signed cookie (see ``kettle.sessions``).

        Reading it marks the response ``Vary: Cookie`` so caches keep users apart.
        """
        from kettle.sessions import Session

        if self.session_data is None:
            self.session_data = Session()
        self.session_data.accessed = True
        return self.session_data

    @property
    def user(self) -> Any:
        """The signed-in user, set by ``kettle.auth`` (``kettle.auth.get_user(request)`` is
        the typed accessor)::

            if request.user.is_authenticated: ...
        """
        try:
            return self.state.user
        except AttributeError:
            raise AttributeError(
                "request.user is not set: it needs `Auth(app)` (kettle.auth), and hooks that "
                "read it must be registered after Auth."
            ) from None

    @user.setter
    def user(self, value: Any) -> None:
        self.state.user = value

    @property
    def csp_nonce(self) -> str:
        """This response's Content-Security-Policy nonce, made on first use; the policy
        then allows inline scripts and styles that carry it (``csp_nonce()`` in templates)::

            html = f'<script nonce="{request.csp_nonce}">boot()</script>'
        """
        if self._csp_nonce is None:
            from kettle._csp import new_nonce

            # PERF: only pages with inline code pay for the random bytes.
            self._csp_nonce = new_nonce()
        return self._csp_nonce

    @property
    def root_path(self) -> str:
        """The path the app is served under in this request, ``""`` at the site's root:
        a server's or proxy's ``root_path``, a mount's prefix, the URL's language prefix
        (kettle.i18n). The browser's path is ``root_path + path``::

            here = request.root_path + request.path   # "/blog/fr/articles/7"
        """
        return self.scope.get("root_path", "")  # type: ignore[no-any-return]

    def link(self, url: str) -> str:
        """``url`` as a link or redirect from this request: a path of the app (a setting
        such as ``auth.login_url``) under the request's root path, a full URL as it is::

            request.link("/auth/login")   # "/blog/fr/auth/login" under /blog, in French
        """
        if url.startswith("/") and not url.startswith("//"):
            return self.scope.get("root_path", "") + url  # type: ignore[no-any-return]
        return url

    def url_for(self, name: str, /, **params: Any) -> str:
        """The URL path of the named route, filled with ``params``, under this request's
        root path (``root_path``), as a link on this page needs it; a static file's URL
        keeps the root path but not the language prefix (one URL in every language).
        ``app.url_for`` gives the path inside the app, without any root path::

            request.url_for("show_article", id=7)   # "/blog/articles/7" under a /blog mount
        """
        app = self.app
        url = app.url_for(name, **params)
        root = self.scope.get("root_path")
        # PERF: at the site's root (the usual case) the app's path is the link as it is.
        if not root:
            return url
        if name in app.router.files:
            return files_root(self.scope) + url
        return root + url  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


def decode_json(body: bytes, type: Any = Any) -> Any:
    """Decode a JSON body, turning every kind of malformed input into a clear 400."""
    import msgspec

    try:
        return msgspec.json.decode(body, type=type)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise BadRequest("The JSON body is nested too deeply.") from None


__all__ = ["Address", "ClientDisconnect", "Request", "State", "decode_json"]
