"""Tokens: password-reset links (signed, expiring, single-use) and API token secrets.

A reset token signs the user's id and a fingerprint of their password hash, last login
and e-mail address. Setting the new password changes the hash, so the link works once;
a login in between ends it too. Nothing is stored::

    tokens = ResetTokens(secret_key, max_age=3600)
    token = tokens.make(ann)
    assert tokens.user_id(token) == ann.id and tokens.check(token, ann)

API tokens are random (``kt_`` and 43 URL-safe characters); only their SHA-256 is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeTimedSerializer

if TYPE_CHECKING:
    from kettle.auth.models import AbstractUser

#: What every API token starts with (``kt_3q2...``): it tells a Kettle token apart at a
#: glance, and lets secret scanners find one pasted in a repository or a log.
API_TOKEN_PREFIX = "kt_"
#: How long an API token works by default (``AuthOptions.token_lifetime``): long enough
#: that a script is not renewed every week, short enough that a forgotten or leaked
#: token dies within a season.
DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=90)


def new_api_token() -> tuple[str, str]:
    """A fresh raw API token and the hash to store::

    raw, digest = new_api_token()   # ("kt_3q2...", "9f86d08...")
    """
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, hash_api_token(raw)


def hash_api_token(raw: str) -> str:
    """The SHA-256 (hex) of a raw token, as stored in ``ApiToken.key_hash``::

    ApiToken.objects.filter(key_hash=hash_api_token(raw)).exists()
    """
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class ResetTokens:
    """Makes and checks password-reset tokens with the app's secret keys.

    ``fallbacks`` are old secret keys still accepted (as for sessions)::

        tokens = ResetTokens(app.settings.secret_key, app.settings.secret_key_fallbacks)
    """

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = (), max_age: int = 3600) -> None:
        self._keys = [secret_key, *fallbacks]
        # itsdangerous signs with the last key and verifies with every one.
        self._serializer = URLSafeTimedSerializer(
            [*fallbacks, secret_key], salt="kettle.auth.password-reset"
        )
        self.max_age = max_age

    def _fingerprint(self, user: AbstractUser, key: str) -> str:
        login = user.last_login.isoformat() if user.last_login is not None else ""
        state = f"{user.id}\0{user.password}\0{login}\0{user.email}"
        return hmac.new(key.encode(), state.encode(), hashlib.sha256).hexdigest()[:32]

    def make(self, user: AbstractUser) -> str:
        """A token for ``user``'s current state, valid ``max_age`` seconds."""
        return self._serializer.dumps([user.id, self._fingerprint(user, self._keys[0])])

    def user_id(self, token: str) -> int | None:
        """The id the token names, if its signature is good and it has not expired."""
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:
            return None
        if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
            return None
        return payload[0]

    def check(self, token: str, user: AbstractUser) -> bool:
        """Whether the token is good for ``user`` as it is now (so it works only once)."""
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except BadSignature:
            return False
        if not (isinstance(payload, list) and len(payload) == 2) or payload[0] != user.id:
            return False
        given = str(payload[1])
        return any(hmac.compare_digest(given, self._fingerprint(user, k)) for k in self._keys)


__all__ = [
    "API_TOKEN_PREFIX",
    "DEFAULT_TOKEN_LIFETIME",
    "ResetTokens",
    "hash_api_token",
    "new_api_token",
]
