"""Server-side sessions on Redis: ``RedisSessionBackend``.

``AuthOptions(session_store="redis")`` installs it. The cookie holds a random id (256
bits); Redis holds, under the SHA-256 of that id, a hash with the session's data, when
it ends at the latest, when it was last used, and the user it signs in. A session ends
at the first of two deadlines:

- **idle**: ``idle_seconds`` after it was last used. Each use pushes it out (sliding),
  but only once a quarter of the window has passed, so a busy reader costs one write per
  quarter window, not one per request;
- **absolute**: ``max_age`` seconds after it began (a login starts a new session), never
  extended.

Each user's session ids are kept in a set, so "sign out everywhere" and a password
change end them all. A Redis that cannot be reached answers 503, never 500::

    auth = Auth(app, options=AuthOptions(session_store="redis", session_idle_seconds=1800))
    await app.session_backend.aend_user_sessions(ann.id)   # ann signed out everywhere
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from typing import Any

import msgspec

from kettle.auth.core import SESSION_HASH, SESSION_USER
from kettle.cache._redis import UNREACHABLE, RedisClients
from kettle.exceptions import HTTPException

#: The body of the 503; nothing about Redis reaches the client.
DETAIL = "The service is temporarily unavailable; please try again in a moment."
#: The longest cookie value looked up (ids are 43 characters).
_MAX_TOKEN = 64
#: Seconds a socket may wait to connect to Redis or for an answer.
SOCKET_TIMEOUT = 2.0
#: A session's idle deadline moves only once this share of the window has passed.
REFRESH_FRACTION = 0.25
_AUTH_KEYS = (SESSION_USER, SESSION_HASH)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode

# KEYS[1] session; ARGV: data, now, idle, user. Updates a live session and moves its
# deadline; 0 when it is gone (ended elsewhere) or past its absolute end ('e').
_UPDATE = """
local ends = redis.call('HGET', KEYS[1], 'e')
if not ends then return 0 end
local now = tonumber(ARGV[2])
local left = math.min(tonumber(ARGV[3]), tonumber(ends) - now)
if left <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 't', ARGV[2], 'u', ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.floor(left * 1000))
return 1
"""


class SessionStoreUnavailable(HTTPException):
    """The session store could not be reached; the request is answered 503::

    raise SessionStoreUnavailable()
    """

    def __init__(self) -> None:
        super().__init__(503, DETAIL, {"retry-after": "5"})


class RedisSessionBackend:
    """Sessions in Redis at ``url`` (see the module docstring). ``max_age`` is the
    absolute lifetime (default: the ``max_age`` the app passes, ``session_max_age``),
    ``idle_seconds`` the idle one (None: only the absolute one)::

        app.session_backend = RedisSessionBackend("redis://127.0.0.1:6379/0", idle_seconds=1800)
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "kettle:session",
        idle_seconds: int | None = None,
        max_age: int | None = None,
    ) -> None:
        # NOTE: longer than the cache's timeout: a session that cannot be read is a 503,
        # not a miss, so a Redis slowed by a busy machine must get time to answer.
        self.clients = RedisClients(url, socket_timeout=SOCKET_TIMEOUT)
        self.prefix = prefix
        self.idle_seconds = idle_seconds
        self.max_age = max_age

    def _key(self, token: str) -> str:
        return (
            f"{self.prefix}:s:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        )

    def _user_key(self, user_id: Any) -> str:
        return f"{self.prefix}:u:{user_id}"

    def _limits(self, max_age: int) -> tuple[float, float]:
        absolute = float(self.max_age or max_age)
        return (float(self.idle_seconds) if self.idle_seconds else absolute), absolute

    async def load(self, token: str) -> dict[str, Any] | None:
        """The data of ``token``'s live session, or None; moves the idle deadline when a
        quarter of the window has passed::

            data = await backend.load(request.cookies["session"])
        """
        if len(token) > _MAX_TOKEN:
            return None
        key = self._key(token)
        try:
            client: Any = self.clients.async_()
            fields = await client.hmget(key, ["d", "e", "t"])
            if fields[0] is None:
                return None
            ends, used, now = float(fields[1]), float(fields[2]), time.time()
            idle = self.idle_seconds
            if now >= ends or (idle and now >= used + idle):
                return None
            if idle and now - used >= idle * REFRESH_FRACTION:
                left = min(idle, ends - now)
                async with client.pipeline(transaction=True) as pipe:
                    pipe.hset(key, "t", repr(now)).pexpire(key, int(left * 1000))
                    await pipe.execute()
        except UNREACHABLE as error:
            raise SessionStoreUnavailable() from error
        return _decode(fields[0])

    async def save(self, token: str | None, data: dict[str, Any], max_age: int) -> str:
        """Store ``data`` under ``token`` (or a new random id) and return the cookie
        value; a session that ended while the request ran gets a new id, signed out::

            token = await backend.save(None, {"cart": [3]}, max_age=1209600)
        """
        idle, absolute = self._limits(max_age)
        now = time.time()
        user = _user_id(data)
        try:
            client: Any = self.clients.async_()
            if token is not None:
                args = [_encode(data), repr(now), idle, "" if user is None else user]
                if await client.eval(_UPDATE, 1, self._key(token), *args):
                    if user is not None:
                        await self._index(client, user, token, absolute)
                    return token
                # NOTE: the session went while this request ran: keep the rest, signed out.
                data = {k: v for k, v in data.items() if k not in _AUTH_KEYS}
                user = None
            token = secrets.token_urlsafe(32)
            key = self._key(token)
            ends = repr(now + absolute)
            record = {"d": _encode(data), "e": ends, "t": repr(now), "u": user or ""}
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=record).pexpire(key, int(min(idle, absolute) * 1000))
                await pipe.execute()
            if user is not None:
                await self._index(client, user, token, absolute)
        except UNREACHABLE as error:
            raise SessionStoreUnavailable() from error
        return token

    async def _index(self, client: Any, user: int, token: str, absolute: float) -> None:
        members = self._user_key(user)
        async with client.pipeline(transaction=False) as pipe:
            pipe.sadd(members, self._key(token)).pexpire(members, int(absolute * 1000))
            await pipe.execute()

    async def delete(self, token: str) -> None:
        """End ``token``'s session, so a copy of the cookie no longer signs anyone in::

        await backend.delete(request.cookies["session"])
        """
        key = self._key(token)
        try:
            client: Any = self.clients.async_()
            user = await client.hget(key, "u")
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if user:
                    pipe.srem(self._user_key(user.decode()), key)
                await pipe.execute()
        except UNREACHABLE as error:
            raise SessionStoreUnavailable() from error

    async def aclose(self) -> None:
        """Close the connections of the running event loop (``Auth`` does it at shut-down)::

        await backend.aclose()
        """
        await self.clients.aclose()

    # --- revocation ------------------------------------------------------------------------
    def end_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """End every session of ``user_id`` but ``keep``'s (``def`` code)::

        backend.end_user_sessions(ann.id)
        """
        members, spared = self._user_key(user_id), self._key(keep) if keep else None
        try:
            client: Any = self.clients.sync()
            keys = [k.decode() for k in client.smembers(members)]
            doomed = [k for k in keys if k != spared]
            if not doomed:
                return 0
            ended = int(client.delete(*doomed))
            client.srem(members, *doomed)
        except UNREACHABLE as error:
            raise SessionStoreUnavailable() from error
        return ended

    async def aend_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """``end_user_sessions()`` for async code::

        await backend.aend_user_sessions(ann.id)
        """
        members, spared = self._user_key(user_id), self._key(keep) if keep else None
        try:
            client: Any = self.clients.async_()
            keys = [k.decode() for k in await client.smembers(members)]
            doomed = [k for k in keys if k != spared]
            if not doomed:
                return 0
            ended = int(await client.delete(*doomed))
            await client.srem(members, *doomed)
        except UNREACHABLE as error:
            raise SessionStoreUnavailable() from error
        return ended


def redis_url(url: str | None = None) -> str:
    """The Redis of the session store: ``url``, else ``KETTLE_SESSION_REDIS_URL``, else
    the local default::

        redis_url()   # "redis://127.0.0.1:6379/0" when nothing is set
    """
    return url or os.environ.get("KETTLE_SESSION_REDIS_URL") or "redis://127.0.0.1:6379/0"


def _user_id(data: dict[str, Any]) -> int | None:
    user_id = data.get(SESSION_USER)
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


__all__ = ["RedisSessionBackend", "SessionStoreUnavailable", "redis_url"]
