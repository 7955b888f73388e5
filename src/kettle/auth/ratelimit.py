"""Rate limits: at most N calls of a handler per user (or client address) per period.

``rate_limit("5/minute")`` goes under the route decorator, like ``login_required``, on
``def`` and ``async def`` handlers alike::

    @app.post("/articles")
    @login_required
    @rate_limit("5/minute", methods=["POST"])
    def submit(request: Request): ...

Each user has a counter per limit (per signed-in user, else per client address; or any
``key=`` function of the request), kept in a ``ThrottleStore``: the ``Auth``'s store by
default, so a ``RedisThrottleStore`` shares the counts between workers. Windows are fixed:
the first call starts one, and it lasts the period. Over the limit the handler is not
called: the client gets ``429 Too Many Requests`` with ``Retry-After`` and a message that
says when to try again (register an error handler for 429 to show a page of your own).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from kettle.auth.guards import wrap_with_request
from kettle.auth.throttling import MemoryThrottleStore, ThrottleStore
from kettle.exceptions import HTTPException
from kettle.handlers import is_sync
from kettle.requests import Request
from kettle.responses.base import Response

F = TypeVar("F", bound=Callable[..., Any])
KeyFunction = Callable[[Request], str | None]

_UNITS = {
    **dict.fromkeys(("s", "sec", "second"), 1),
    **dict.fromkeys(("m", "min", "minute"), 60),
    **dict.fromkeys(("h", "hour"), 3600),
    **dict.fromkeys(("d", "day"), 86400),
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` calls per ``period`` seconds; ``Rate.parse("5/minute")`` reads the text form.

    The text is ``<count>/<period>``, the period a unit (``second``, ``minute``, ``hour``,
    ``day``, or ``s``, ``m``, ``h``, ``d``) with an optional multiple in front::

        Rate.parse("100/hour") == Rate(100, 3600)
        Rate.parse("3/10minutes") == Rate(3, 600)
    """

    #: How many calls the rate allows in one period: ``5`` for ``"5/minute"``.
    count: int
    #: The length of the period, in seconds: ``60`` for ``"5/minute"``.
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """The rate ``text`` describes; a ``ValueError`` says what a valid one looks like."""
        match = _RATE.match(text.lower())
        unit = _UNITS.get(match.group(3)) if match else None
        if match is None or unit is None or int(match.group(2) or 1) < 1:
            raise ValueError(
                f"{text!r} is not a rate: write '<count>/<period>', such as '5/minute', "
                "'100/hour' or '3/10minutes' (units: second, minute, hour, day)."
            )
        return cls(int(match.group(1)), int(match.group(2) or 1) * unit)

    def __str__(self) -> str:
        for name, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if self.period % seconds == 0:
                multiple = self.period // seconds
                return f"{self.count} per {'' if multiple == 1 else f'{multiple} '}{name}" + (
                    "" if multiple == 1 else "s"
                )
        return f"{self.count} per {self.period} seconds"


class RateLimited(HTTPException):
    """The 429 a rate limit raises; ``retry_after`` is in seconds, ``rate`` the limit::

    @app.errorhandler(RateLimited)
    def slow_down(request, exc):
        return render("429.html", wait=exc.retry_after, status=429)
    """

    def __init__(self, rate: Rate, retry_after: int, what: str) -> None:
        super().__init__(
            429,
            f"Too many requests: {what} allows {rate}. Try again in {retry_after} second(s).",
            {"Retry-After": str(retry_after)},
        )
        self.rate = rate
        self.retry_after = retry_after


def user_or_address(request: Request) -> str:
    """The default key: ``user:<id>`` when signed in, else ``address:<client address>``."""
    user = getattr(request.state, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.id}"
    return f"address:{request.client.host if request.client is not None else 'unknown'}"


def client_address(request: Request) -> str:
    """A key per client address, for limits that must hold before anyone signs in."""
    return f"address:{request.client.host if request.client is not None else 'unknown'}"


class RateLimit:
    """A limit as a decorator (``rate_limit`` makes them) or a hook (``limit.hook``).

    ``scope`` names the counter; limits with the same scope share it, so an HTML page and
    an API endpoint that do the same thing can share one budget::

        comments = rate_limit("10/minute", scope="comments")

        @app.post("/articles/<int:id>/comments")
        @comments
        def comment_form(id: int): ...
    """

    def __init__(
        self,
        rate: str | Rate | Callable[[Request], str | Rate],
        *,
        key: KeyFunction = user_or_address,
        scope: str | None = None,
        methods: Collection[str] | None = None,
        store: ThrottleStore | None = None,
    ) -> None:
        self._rate = Rate.parse(rate) if isinstance(rate, str) else rate
        self.key = key
        self.scope = scope
        self.methods = frozenset(m.upper() for m in methods) if methods is not None else None
        self.store = store

    def __repr__(self) -> str:
        return f"<RateLimit {self.scope or '(per handler)'}>"

    def rate_for(self, request: Request) -> Rate:
        """The rate that applies to ``request`` (a callable rate reads settings here)."""
        rate = self._rate
        if isinstance(rate, Rate):
            return rate
        value = rate(request)
        return _parse_cached(value) if isinstance(value, str) else value

    def store_for(self, request: Request) -> ThrottleStore:
        """The store given, else the ``Auth``'s throttle store, else one per app in memory."""
        if self.store is not None:
            return self.store
        auth = getattr(request.app.state, "auth", None)
        if auth is not None:
            store: ThrottleStore = auth.throttle.store
            return store
        own: ThrottleStore | None = getattr(request.app.state, "rate_limit_store", None)
        if own is None:
            own = request.app.state.rate_limit_store = MemoryThrottleStore()
        return own

    async def check(self, request: Request, scope: str) -> None:
        """Count this call; raise ``RateLimited`` when it is over the limit."""
        if self.methods is not None and request.method not in self.methods:
            return
        who = self.key(request)
        if who is None:  # the key function exempts this request
            return
        rate = self.rate_for(request)
        store = self.store_for(request)
        # Hashed: keys may hold anything (addresses, names); store keys stay short and safe.
        digest = hashlib.sha256(f"{self.scope or scope}\0{who}".encode()).hexdigest()[:32]
        name = f"ratelimit:{digest}"
        count = await store.hit(name, rate.period)
        if count > rate.count:
            _, retry_after = await store.get(name)
            raise RateLimited(rate, max(1, retry_after), f"{request.method} {request.path}")

    async def hook(self, request: Request) -> Response | None:
        """A before-request hook: ``group.before_request(rate_limit("60/minute").hook)``.

        Without a ``scope``, the counter is one per route.
        """
        route = request.route
        await self.check(request, getattr(route, "name", None) or request.path)
        return None

    def __call__(self, fn: F) -> F:
        """Wrap a handler; the handler runs only while the caller is within the limit."""
        scope = f"{fn.__module__}.{fn.__qualname__}"

        def build(take: Callable[[dict[str, Any]], Request]) -> Callable[..., Any]:
            # NOTE: the wrapper is async either way: the store is async, so the check runs on
            # the event loop and a def handler is then handed to the thread pool, as Kettle
            # would have done (with the same context, so the same database session).
            wrapper: Callable[..., Any]
            if is_sync(fn):

                @functools.wraps(fn)
                async def wrapper(*args: Any, **kwargs: Any) -> Any:
                    request = take(kwargs)
                    await self.check(request, scope)
                    return await request.app.run_sync(functools.partial(fn, *args, **kwargs))

            else:

                @functools.wraps(fn)
                async def wrapper(*args: Any, **kwargs: Any) -> Any:
                    await self.check(take(kwargs), scope)
                    return await fn(*args, **kwargs)

            return wrapper

        return wrap_with_request(fn, build)


@functools.lru_cache(maxsize=64)
def _parse_cached(text: str) -> Rate:
    return Rate.parse(text)


def rate_limit(
    rate: str | Rate | Callable[[Request], str | Rate],
    *,
    key: KeyFunction = user_or_address,
    scope: str | None = None,
    methods: Collection[str] | None = None,
    store: ThrottleStore | None = None,
) -> RateLimit:
    """At most ``rate`` calls (``"5/minute"``) per ``key`` (the user, else the address).

    ``rate`` may be a function of the request, to read it from the settings when the
    request comes; ``methods`` limits only those methods (a page that shows a form on GET
    and saves it on POST); ``key`` returning None exempts a request::

        @app.post("/api/articles")
        @login_required
        @rate_limit(lambda request: request.app.settings.article_rate, scope="articles")
        async def create_article(request: Request, body: NewArticle): ...
    """
    return RateLimit(rate, key=key, scope=scope, methods=methods, store=store)


__all__ = [
    "Rate",
    "RateLimit",
    "RateLimited",
    "client_address",
    "rate_limit",
    "user_or_address",
]
