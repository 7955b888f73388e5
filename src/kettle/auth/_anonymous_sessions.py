"""Anonymous sessions in a signed cookie, signed-in ones on the server.

A server-side store (the ``auth_session`` table, Redis) is there so that a signed-in
session can be ended: logout, "sign out everywhere", a password change. What an anonymous
visitor keeps (the CSRF secret of a form, a flashed message, where to go after login)
needs no ending, and storing it on the server would cost a write per cookie-less page
view, a table anyone with ``curl`` could grow without bound. ``AnonymousInCookie`` wraps
the store: a session without ``SESSION_USER`` lives in a cookie signed with the app's
secret key (as ``SignedCookieBackend`` signs it), and moves to the store, under a new
random id, the moment a user signs in on it::

    app.session_backend = AnonymousInCookie(DatabaseSessionBackend(db), app.settings)

The two kinds of cookie value tell themselves apart without a lookup: a signed one
starts with ``COOKIE_PREFIX`` (``anon.``), which the store's ids (``token_urlsafe``,
no dot) never do. A cookie value with the prefix but a bad signature is no session.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from kettle.auth.core import SESSION_HASH, SESSION_USER
from kettle.sessions import SignedCookieBackend, UserSessionStore

if TYPE_CHECKING:
    from kettle.settings import Settings

#: How the cookie value of an anonymous (signed-cookie) session begins.
COOKIE_PREFIX = "anon."


class AnonymousInCookie:
    """A ``UserSessionStore`` that keeps sessions nobody is signed in to in a signed
    cookie and hands the others to ``store`` (see the module docstring)::

        backend = AnonymousInCookie(RedisSessionBackend(url), app.settings)
        backend.store.purge_expired()       # housekeeping goes to the store itself
    """

    def __init__(self, store: UserSessionStore, settings: Settings) -> None:
        #: The server-side store that keeps the signed-in sessions.
        self.store = store
        self._settings = settings

    @functools.cached_property
    def cookies(self) -> SignedCookieBackend:
        """The signed-cookie backend of the anonymous sessions (the secret key is known
        once the app is built, before the first request)."""
        settings = self._settings
        return SignedCookieBackend(
            settings.secret_key, settings.secret_key_fallbacks, settings.session_max_age
        )

    async def load(self, token: str) -> dict[str, Any] | None:
        """The data of a signed cookie value (``anon.…``), else of the store's session;
        None when the signature is bad or the store knows no such session::

            data = await backend.load(request.cookies["session"])
        """
        # PERF: an anonymous session costs an HMAC check, no query or round trip.
        if token.startswith(COOKIE_PREFIX):
            data = await self.cookies.load(token[len(COOKIE_PREFIX) :])
            # A signed-in session is never read from a cookie, even a validly signed one.
            return None if data is None or SESSION_USER in data else data
        return await self.store.load(token)

    async def save(self, token: str | None, data: dict[str, Any], max_age: int) -> str:
        """Store ``data`` where it belongs and return the cookie value: in the store when
        a user is signed in (a session coming from a cookie gets a new random id there, so
        a pre-login value never becomes the signed-in one), else in a signed cookie (a
        session leaving the store has its entry deleted)::

            token = await backend.save(None, {"_csrf": "..."}, max_age=1209600)
            assert token.startswith("anon.")
        """
        in_cookie = token is not None and token.startswith(COOKIE_PREFIX)
        if SESSION_USER in data:
            if token is None or in_cookie:
                return await self.store.save(None, data, max_age)
            saved = await self.store.save(token, data, max_age)
            if saved == token:
                return saved
            # NOTE: the session ended while this request ran (a logout elsewhere): the
            # store kept the rest, signed out, under a new id; that belongs in a cookie.
            await self.store.delete(saved)
            data = {k: v for k, v in data.items() if k not in (SESSION_USER, SESSION_HASH)}
            token = None
        if token is not None and not in_cookie:
            # NOTE: a stored session nobody is signed in to any more (or a row written
            # before anonymous sessions moved to cookies): it leaves the store.
            await self.store.delete(token)
            token = None
        signed = token[len(COOKIE_PREFIX) :] if token is not None else None
        return COOKIE_PREFIX + await self.cookies.save(signed, data, max_age)

    async def delete(self, token: str) -> None:
        """Delete the store's session of ``token``; a signed cookie has nothing stored
        (the response clears it)::

            await backend.delete(request.cookies["session"])
        """
        if not token.startswith(COOKIE_PREFIX):
            await self.store.delete(token)

    def end_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """The store's ``end_user_sessions`` (only stored sessions have a user)::

        with db.session():
            backend.end_user_sessions(ann.id)
        """
        return self.store.end_user_sessions(user_id, keep)

    async def aend_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """``end_user_sessions()`` for async code::

        await backend.aend_user_sessions(ann.id)
        """
        return await self.store.aend_user_sessions(user_id, keep)
