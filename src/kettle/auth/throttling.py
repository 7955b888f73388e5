"""Throttling of the login, password-reset and sign-up forms, per account and per client
address.

After ``max_per_account`` failures for one username (5 by default), or
``max_per_address`` from one address (20), within ``window`` seconds, the login answers
429 with ``Retry-After`` until the window ends. Requests for a password-reset link are
limited alike (``ResetThrottle``): 3 an hour per e-mail address, 10 per client address.
Unknown usernames and addresses are counted like known ones, so the limits tell nothing
about which accounts exist. Sign-ups are limited per client address (``SignupThrottle``):
5 accounts an hour by default.

The counters live in a ``ThrottleStore``: ``MemoryThrottleStore`` for one process,
``RedisThrottleStore`` for several workers::

    Auth(app, throttle_store=RedisThrottleStore("redis://127.0.0.1:6379/0"))
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis


class ThrottleStore(Protocol):
    """Counters that expire: a fixed window starts with the first hit of a key.

    ::

        count = await store.hit("login:user:ann", window=900)
        count, retry_after = await store.get("login:user:ann")
    """

    async def hit(self, key: str, window: int) -> int:
        """Add one to ``key`` (starting a ``window``-second window if none is open);
        returns the new count."""
        ...

    async def get(self, key: str) -> tuple[int, int]:
        """The count of ``key`` and the seconds until its window ends (0, 0 when none)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget ``key``."""
        ...


class MemoryThrottleStore:
    """Counters in this process's memory (one worker, development, tests)::

    Auth(app, throttle_store=MemoryThrottleStore())
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._counts.get(key)
        if entry is not None and entry[1] <= self._clock():
            del self._counts[key]
            return None
        return entry

    async def hit(self, key: str, window: int) -> int:
        """Add one to ``key`` in this process's memory, opening a ``window``-second
        window if none is open; returns the new count::

            await store.hit("login:user:ann", 900)   # 1, then 2, ...
        """
        entry = self._live(key)
        if len(self._counts) > 100_000:
            self._sweep()
        count, ends = entry if entry is not None else (0, self._clock() + window)
        self._counts[key] = (count + 1, ends)
        return count + 1

    async def get(self, key: str) -> tuple[int, int]:
        """The count of ``key`` and the seconds until its window ends; ``(0, 0)`` when
        it has no open window."""
        entry = self._live(key)
        if entry is None:
            return 0, 0
        return entry[0], max(1, math.ceil(entry[1] - self._clock()))

    async def reset(self, key: str) -> None:
        """Forget ``key`` (after a successful login, say)."""
        self._counts.pop(key, None)

    def _sweep(self) -> None:
        now = self._clock()
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}


class RedisThrottleStore:
    """Counters in Redis, shared by every worker (redis-py's asyncio client).

    Give a URL, or a client you made; each window is one key with a TTL::

        RedisThrottleStore("redis://127.0.0.1:6379/0", prefix="news:throttle:")
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: Redis | None = None,
        prefix: str = "kettle:throttle:",
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._client = client
        self._own = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> Redis:
        # NOTE: asyncio connections belong to the loop that opened them; a client made
        # by this store follows the running loop (tests run several).
        loop = asyncio.get_running_loop()
        if self._own and (self._client is None or self._loop is not loop):
            from redis.asyncio import Redis

            self._client = Redis.from_url(self.url)
            self._loop = loop
        assert self._client is not None
        return self._client

    async def hit(self, key: str, window: int) -> int:
        """Add one to ``key`` in Redis in one transaction (``SET NX EX`` then ``INCR``),
        so every worker counts together; returns the new count."""
        name = self.prefix + key
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.set(name, 0, ex=window, nx=True)
            pipe.incr(name)
            _, count = await pipe.execute()
        return int(count)

    async def get(self, key: str) -> tuple[int, int]:
        """The count of ``key`` and its time to live in seconds; ``(0, 0)`` when Redis
        has no such key."""
        name = self.prefix + key
        async with self._redis().pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.ttl(name)
            value, ttl = await pipe.execute()
        if value is None:
            return 0, 0
        return int(value), max(1, int(ttl))

    async def reset(self, key: str) -> None:
        """Delete ``key`` from Redis."""
        await self._redis().delete(self.prefix + key)

    async def aclose(self) -> None:
        """Close the client this store made (``Auth`` does it at shut-down)."""
        if self._own and self._client is not None:
            await self._client.aclose()
            self._client = None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


async def _wait(store: ThrottleStore, limits: list[tuple[str, int]]) -> int:
    """The seconds until every ``(key, limit)`` is under its limit again (0: all are)."""
    waits = []
    for key, limit in limits:
        count, retry_after = await store.get(key)
        if count >= limit:
            waits.append(retry_after)
    return max(waits, default=0)


class LoginThrottle:
    """The login limits over a store; the login view calls ``blocked`` before checking a
    password, ``failed`` after a wrong one and ``succeeded`` after a right one::

        wait = await throttle.blocked("ann", "203.0.113.9")
        if wait:
            return render("auth/login.html", status=429, headers={"Retry-After": str(wait)})
    """

    def __init__(
        self,
        store: ThrottleStore,
        *,
        max_per_account: int = 5,
        max_per_address: int = 20,
        window: int = 15 * 60,
    ) -> None:
        self.store = store
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.window = window

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[str, str]:
        # Hashed: usernames and addresses may hold anything; keys stay short and safe.
        return (
            "login:account:" + _digest(username.strip().casefold()),
            "login:address:" + _digest(address or "unknown"),
        )

    async def blocked(self, username: str, address: str | None) -> int:
        """Seconds to wait before trying again, or 0 when an attempt is allowed."""
        account, client = self._keys(username, address)
        return await _wait(
            self.store, [(account, self.max_per_account), (client, self.max_per_address)]
        )

    async def failed(self, username: str, address: str | None) -> None:
        """Count a failed attempt against the account and the address."""
        account, client = self._keys(username, address)
        await self.store.hit(account, self.window)
        await self.store.hit(client, self.window)

    async def succeeded(self, username: str, address: str | None) -> None:
        """Clear the account's failures (the address keeps its count)."""
        account, _ = self._keys(username, address)
        await self.store.reset(account)


class ResetThrottle:
    """The password-reset limits over a store: every request for a link counts against the
    e-mail address asked for and the client's address, whether or not an account has it::

        wait = await throttle.attempt("ann@example.org", "203.0.113.9")
        if wait:
            return render("auth/password_reset.html", status=429, headers={"Retry-After": ...})

    The limit per e-mail address stops a flood of mail to one inbox from many addresses;
    the limit per client address stops one client probing or mailing many inboxes.
    """

    def __init__(
        self,
        store: ThrottleStore,
        *,
        max_per_email: int = 3,
        max_per_address: int = 10,
        window: int = 60 * 60,
    ) -> None:
        self.store = store
        self.max_per_email = max_per_email
        self.max_per_address = max_per_address
        self.window = window

    def _limits(self, email: str, address: str | None) -> list[tuple[str, int]]:
        # Hashed like the login keys; the e-mail is matched whatever its case, as the view does.
        return [
            ("reset:email:" + _digest(email.strip().casefold()), self.max_per_email),
            ("reset:address:" + _digest(address or "unknown"), self.max_per_address),
        ]

    async def attempt(self, email: str, address: str | None) -> int:
        """Count a request for a link to ``email`` from ``address``; returns 0 when it may
        go ahead, else the seconds to wait (a refused request is not counted)."""
        limits = self._limits(email, address)
        wait = await _wait(self.store, limits)
        if wait:
            return wait
        over = False
        for key, limit in limits:
            # NOTE: the check above and these hits are not one transaction; two requests at
            # once may both pass it, so a count past the limit refuses the request after all.
            over |= await self.store.hit(key, self.window) > limit
        return await _wait(self.store, limits) if over else 0


class SignupThrottle:
    """The sign-up limit over a store: accounts created per client address and window
    (``AuthOptions.max_signups_per_address``, ``signup_throttle_window``)::

        wait = await throttle.blocked("203.0.113.9")   # before any work: 429 if not 0
        ...                                            # the form is valid
        wait = await throttle.attempt("203.0.113.9")   # counts this account

    A form sent back with errors is not counted, so fixing a typo never locks anyone out;
    each valid sign-up counts, even one that then loses a race for its username.
    """

    def __init__(
        self, store: ThrottleStore, *, max_per_address: int = 5, window: int = 3600
    ) -> None:
        self.store = store
        self.max_per_address = max_per_address
        self.window = window

    def _limits(self, address: str | None) -> list[tuple[str, int]]:
        return [("signup:address:" + _digest(address or "unknown"), self.max_per_address)]

    async def blocked(self, address: str | None) -> int:
        """Seconds to wait before the next sign-up from ``address``, or 0."""
        return await _wait(self.store, self._limits(address))

    async def attempt(self, address: str | None) -> int:
        """Count a sign-up from ``address``; 0 when it may go ahead, else the seconds to
        wait (a count past the limit, from requests at the same moment, refuses it)."""
        [(key, limit)] = self._limits(address)
        if await self.store.hit(key, self.window) > limit:
            return await _wait(self.store, self._limits(address))
        return 0


__all__ = [
    "LoginThrottle",
    "MemoryThrottleStore",
    "RedisThrottleStore",
    "ResetThrottle",
    "SignupThrottle",
    "ThrottleStore",
]
