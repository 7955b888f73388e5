"""Server-side sessions: the ``auth_session`` table and ``DatabaseSessionBackend``.

``Auth(app)`` installs this backend unless the app chose its own ``app.session_backend``
or asked for signed cookies (``AuthOptions(session_store="cookie")``). The cookie then
holds a random id (256 bits) and the table only its SHA-256, so a logout, "sign out
everywhere" or a password change really ends a session: a copied cookie is worth
nothing once its row is gone::

    backend = app.session_backend            # a DatabaseSessionBackend
    with db.session():
        backend.end_user_sessions(ann.id)    # ann is signed out on every device
        backend.purge_expired()              # what `kettle clearsessions` does

A row expires ``session_max_age`` seconds after the session last changed; expired rows
are never loaded, and ``purge_expired`` deletes them. With an idle limit
(``AuthOptions(session_idle_seconds=...)``) a row expires instead after that many seconds
without a request, and never later than ``session_max_age`` after it began: a read moves
the deadline only once a quarter of the idle window has passed (one write per quarter
window, not one per request).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from kettle.auth.core import SESSION_HASH, SESSION_USER
from kettle.db import Model, fields

if TYPE_CHECKING:
    from kettle.db import Database, QuerySet

#: The session keys that sign a user in: dropped from a session whose row was deleted
#: while a request ran.
_AUTH_KEYS = (SESSION_USER, SESSION_HASH)
#: The longest cookie value looked up: ids are 43 characters; anything much longer (a
#: signed cookie from before the switch, garbage) is unknown without a query.
_MAX_TOKEN = 64


class StoredSession(Model):
    """One session (table ``auth_session``), keyed by the SHA-256 of its cookie value::

    StoredSession.objects.filter(user_id=ann.id).count()   # ann's signed-in devices
    """

    #: The SHA-256 (64 hex digits) of the cookie value; the value itself is never stored,
    #: so a copy of the table signs nobody in. See ``hash_session_id``.
    key_hash: str = fields.string(max_length=64, unique=True, editable=False)
    #: The session's contents, the dict a handler sees as ``request.session``.
    data: dict[str, Any] = fields.json(default=dict)
    #: The signed-in user's id, for "sign out everywhere" (None: nobody signed in).
    user_id: int | None = fields.big_integer(null=True, index=True, editable=False)
    #: When the session was first stored (UTC).
    created: dt.datetime = fields.datetime(auto_now_add=True)
    #: When it stops being loaded (UTC): ``session_max_age`` seconds after it last
    #: changed. ``purge_expired`` deletes the rows past it.
    expires: dt.datetime = fields.datetime(index=True)

    class Meta:
        table_name = "auth_session"


def hash_session_id(token: str) -> str:
    """The SHA-256 (hex) of a session cookie's value, as stored in ``key_hash``::

    StoredSession.objects.filter(key_hash=hash_session_id(request.cookies["session"]))
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseSessionBackend:
    """Sessions in the ``auth_session`` table of ``db`` (see the module docstring).

    ``load``, ``save`` and ``delete`` open units of work of their own (the app calls them
    before and after the request's); an unreachable database makes them raise
    ``DatabaseUnavailable``, which the app answers with a 503::

        app.session_backend = DatabaseSessionBackend(db)   # what Auth(app) does
    """

    def __init__(
        self, db: Database, *, idle_seconds: int | None = None, max_age: int | None = None
    ) -> None:
        self.db = db
        #: Seconds without a request after which a session ends (None: no idle limit).
        self.idle_seconds = idle_seconds
        #: The absolute lifetime with an idle limit (None: the ``max_age`` of ``save``).
        self.max_age = max_age

    async def load(self, token: str) -> dict[str, Any] | None:
        """The data of the unexpired row whose ``key_hash`` is the SHA-256 of ``token``;
        None for an unknown, expired or over-long token::

            data = await backend.load(request.cookies["session"])
        """
        if len(token) > _MAX_TOKEN:
            return None
        # On the primary: a session made a moment ago, or ended everywhere, must be seen
        # so at once, whatever a replica's lag (docs/replicas.md).
        query = StoredSession.objects.using("primary").filter(key_hash=hash_session_id(token))
        now = fields.now()
        if self.idle_seconds is None:
            async with self.db.async_session():
                data = await query.filter(expires__gt=now).values_list("data", flat=True).afirst()
            return data if isinstance(data, dict) else None
        async with self.db.async_session():
            row = (
                await query.filter(expires__gt=now)
                .values_list("data", "created", "expires")
                .afirst()
            )
            if row is None:
                return None
            data, created, expires = row
            idle = dt.timedelta(seconds=self.idle_seconds)
            # PERF: the deadline moves once a quarter of the window has passed, not per read.
            if _aware(expires) - now <= idle * 0.75:
                deadline = self._deadline(now, _aware(created), self.max_age)
                if deadline > _aware(expires):
                    await query.aupdate(expires=deadline)
        return data if isinstance(data, dict) else None

    def _deadline(self, now: dt.datetime, created: dt.datetime, max_age: int | None) -> dt.datetime:
        """When a session used ``now`` ends: the idle limit, capped by the absolute one."""
        assert self.idle_seconds is not None
        deadline = now + dt.timedelta(seconds=self.idle_seconds)
        limit = self.max_age or max_age
        return min(deadline, created + dt.timedelta(seconds=limit)) if limit else deadline

    async def save(self, token: str | None, data: dict[str, Any], max_age: int) -> str:
        """Store ``data`` in ``token``'s row and push its expiry ``max_age`` seconds out;
        returns the cookie value. With no token, or when the row went while the request
        ran (a logout elsewhere), a new row gets a new random id (without the sign-in
        keys in the second case)::

            token = await backend.save(None, {"cart": [3]}, max_age=1209600)
        """
        now = fields.now()
        expires = now + dt.timedelta(seconds=max_age)
        if self.idle_seconds is not None:
            expires = self._deadline(now, now, max_age)
        async with self.db.async_session():
            if token is not None:
                live = StoredSession.objects.filter(
                    key_hash=hash_session_id(token), expires__gt=now
                )
                if self.idle_seconds is not None:
                    created = await live.values_list("created", flat=True).afirst()
                    if created is not None:
                        expires = self._deadline(now, _aware(created), max_age)
                if await live.aupdate(data=data, user_id=_user_id(data), expires=expires):
                    return token
                # NOTE: the row went while this request ran (a logout, "sign out
                # everywhere"): keep the rest of the data under a new id, signed out.
                data = {k: v for k, v in data.items() if k not in _AUTH_KEYS}
            token = secrets.token_urlsafe(32)
            await StoredSession.objects.acreate(
                key_hash=hash_session_id(token), data=data, user_id=_user_id(data), expires=expires
            )
        return token

    async def delete(self, token: str) -> None:
        """Delete ``token``'s row, so a copy of the cookie no longer signs anyone in::

        await backend.delete(request.cookies["session"])
        """
        async with self.db.async_session():
            await StoredSession.objects.filter(key_hash=hash_session_id(token)).adelete()

    # --- revocation (in the caller's unit of work) ------------------------------------------
    def end_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """Delete every session of ``user_id`` but ``keep``'s (``def`` code)::

        with db.session():
            backend.end_user_sessions(ann.id)
        """
        return _of_user(user_id, keep).delete()

    async def aend_user_sessions(self, user_id: Any, keep: str | None = None) -> int:
        """``end_user_sessions()`` for async code."""
        return await _of_user(user_id, keep).adelete()

    # --- housekeeping --------------------------------------------------------------------------
    def purge_expired(self) -> int:
        """Delete the expired rows in a unit of work of its own; returns how many went::

        backend.purge_expired()   # from cron: `kettle clearsessions`
        """
        with self.db.session():
            return StoredSession.objects.filter(expires__lte=fields.now()).delete()

    async def apurge_expired(self) -> int:
        """``purge_expired()`` for async code."""
        async with self.db.async_session():
            return await StoredSession.objects.filter(expires__lte=fields.now()).adelete()


def _aware(when: dt.datetime) -> dt.datetime:
    # NOTE: SQLite and MariaDB hand back naive datetimes; Kettle stores UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _user_id(data: dict[str, Any]) -> int | None:
    user_id = data.get(SESSION_USER)
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


def _of_user(user_id: Any, keep: str | None) -> QuerySet[StoredSession]:
    query = StoredSession.objects.filter(user_id=user_id)
    return query.exclude(key_hash=hash_session_id(keep)) if keep else query


__all__ = [
    "DatabaseSessionBackend",
    "StoredSession",
    "hash_session_id",
]
