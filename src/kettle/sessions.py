"""Sessions: a dict per user, kept in a signed cookie by default, and flashed messages.

The signed-cookie backend is stateless, so any number of workers share nothing. Other
stores (Redis, the database) implement ``SessionBackend`` and keep only an id in the cookie.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kettle.requests import Request

log = logging.getLogger("kettle.sessions")
FLASH_KEY = "_flashes"


class Session(dict[str, Any]):
    """The session dict; it notes whether it was read or changed, so unchanged sessions
    cost no ``Set-Cookie`` and read ones add ``Vary: Cookie``.

    ::

        request.session["cart"] = [42]
        request.session.cycle()     # after login: a new session id, same data
    """

    def __init__(self, data: dict[str, Any] | None = None, token: str | None = None) -> None:
        super().__init__(data or {})
        self.token = token
        self.accessed = False
        self.modified = False
        self.cycled = False
        #: The request carried a session cookie (valid or not): error responses then
        #: leave it as it is (see ``App``).
        self.cookie_sent = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def clear(self) -> None:
        self.modified = True
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        self.modified = self.modified or key in self
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.modified = True
        super().update(*args, **kwargs)

    def cycle(self) -> None:
        """Keep the data under a new session id (call it on login to prevent fixation)."""
        self.cycled = self.modified = True

    def invalidate(self) -> None:
        """Drop every key and the session id (call it on logout)."""
        self.clear()
        self.cycled = True


class SessionBackend(Protocol):
    """Where session data lives. ``token`` is the cookie's value.

    ``load`` returns ``None`` for an unknown, expired or forged token; ``save`` stores the
    data (under a new token when ``token`` is None) and returns the cookie value.
    """

    async def load(self, token: str) -> dict[str, Any] | None:
        """The data of the session whose cookie value is ``token``; None when it is
        unknown, expired or forged (the request then starts an empty session)."""
        ...

    async def save(self, token: str | None, data: dict[str, Any], max_age: int) -> str:
        """Store ``data`` for ``max_age`` seconds, under ``token`` or a new token when it
        is None; returns the value to set as the cookie."""
        ...

    async def delete(self, token: str) -> None:
        """Forget the session of ``token`` (the user signed out or it was cycled)."""
        ...


@runtime_checkable
class UserSessionStore(SessionBackend, Protocol):
    """A backend that can also end every session of one user: a server-side store, such
    as kettle.auth's ``DatabaseSessionBackend`` or ``RedisSessionBackend`` ("sign out
    everywhere").

    ``keep`` is the cookie value of a session to spare (the current one); both methods
    run in the caller's unit of work and return how many sessions ended::

        if isinstance(app.session_backend, UserSessionStore):
            app.session_backend.end_user_sessions(ann.id)
    """

    def end_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """End every session signed in as ``user_id`` except ``keep``'s; returns how many
        ended. Their next request finds no session and starts signed out::

            backend.end_user_sessions(ann.id, keep=request.cookies["session"])
        """
        ...

    async def aend_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """``end_user_sessions()`` for async code::

        await backend.aend_user_sessions(ann.id)
        """
        ...


class SignedCookieBackend:
    """Keeps the whole session in the cookie, signed with the secret key (not encrypted).

    Old keys listed in ``fallbacks`` still verify, so the secret can be rotated::

        SignedCookieBackend("new-key", fallbacks=["old-key"], max_age=3600)
    """

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = (), max_age: int = 0) -> None:
        from itsdangerous import URLSafeTimedSerializer

        # itsdangerous signs with the last key and verifies with all of them.
        keys = [*fallbacks, secret_key]
        self.serializer = URLSafeTimedSerializer(keys, salt="kettle.session")
        self.max_age = max_age

    async def load(self, token: str) -> dict[str, Any] | None:
        """The data signed into ``token``, or None when its signature is bad (no key or
        fallback key signed it) or it is older than ``max_age``."""
        from itsdangerous import BadSignature

        try:
            payload = self.serializer.loads(token, max_age=self.max_age or None)
        except BadSignature:
            return None
        data = payload.get("d") if isinstance(payload, dict) else None
        return data if isinstance(data, dict) else None

    async def save(self, token: str | None, data: dict[str, Any], max_age: int) -> str:
        """The signed cookie value that holds ``data`` (the data travel in the cookie);
        warns when it grows past what browsers keep."""
        # A random id makes each new (or cycled) session's cookie differ from any before.
        session_id = None
        if token:
            valid, payload = self.serializer.loads_unsafe(token)
            session_id = payload.get("i") if valid and isinstance(payload, dict) else None
        session_id = session_id or os.urandom(8).hex()
        value = self.serializer.dumps({"i": session_id, "d": data})
        if len(value) > 4000:
            log.warning(
                "The session cookie is %d bytes; browsers drop cookies over 4096 bytes. "
                "Store less in the session or use a server-side session backend.",
                len(value),
            )
        return value

    async def delete(self, token: str) -> None:
        """Nothing to do: the data live in the cookie, which the response clears."""
        return None


def flash(request: Request, message: str, category: str = "info") -> None:
    """Keep ``message`` for the next page the user sees::

    flash(request, "Article submitted.", "success")
    return RedirectResponse("/", status=303)
    """
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append([category, message])
    request.session[FLASH_KEY] = messages


def get_flashed_messages(request: Request, with_categories: bool = False) -> list[Any]:
    """Take the flashed messages out of the session (each is shown once)."""
    if request.session_data is None or FLASH_KEY not in request.session_data:
        request.session  # noqa: B018 - reading marks the response Vary: Cookie
        return []
    messages = request.session.pop(FLASH_KEY)
    if with_categories:
        return [tuple(m) for m in messages]
    return [m[1] for m in messages]


__all__ = [
    "Session",
    "SessionBackend",
    "SignedCookieBackend",
    "UserSessionStore",
    "flash",
    "get_flashed_messages",
]
