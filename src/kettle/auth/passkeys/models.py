"""The passkey table: one row per WebAuthn credential a user registered.

The concrete model of a user model comes from ``passkey_model_for`` (table
``<user table>_passkey``), declared when ``Passkeys(auth)`` is installed::

    Passkey = passkey_model_for(User)
    await Passkey.objects.filter(user_id=ann.id).alist()
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from kettle.auth.models import AbstractUser, _declare, model_for
from kettle.db import Model, fields

#: The longest credential id kept, in base64url characters (1023 bytes, the spec's limit).
CREDENTIAL_ID_LENGTH = 1364


def credential_key(raw_id: bytes) -> str:
    """The unique, fixed-length key a credential is looked up by (ids run to 1023 bytes,
    too long for a unique index on every engine)::

        credential_key(b"\\x01\\x02")   # "a12871fe..."
    """
    return hashlib.sha256(raw_id).hexdigest()


class AbstractPasskey(Model):
    """A passkey (WebAuthn credential) of a user: its id, public key and counter.

    Nothing secret is stored: the private key never leaves the authenticator. ``transports``
    (``"internal,hybrid"``) helps the browser find the authenticator; the backup flags tell
    a passkey synced between devices (``backed_up``) from one bound to a single device::

        passkey.name        # "iPhone"
        passkey.synced      # True when the passkey is backed up (iCloud, Google, ...)
    """

    __abstract__ = True

    if TYPE_CHECKING:  # declared on each concrete subclass by __init_subclass__
        id: int
        name: str
        credential_id: str
        credential_key: str
        public_key: str
        user_handle: str
        sign_count: int
        transports: str
        backup_eligible: bool
        backed_up: bool
        created: dt.datetime
        last_used: dt.datetime | None
        user_id: int
        user: AbstractUser

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__dict__.get("__abstract__", False):
            _declare(cls, _passkey_fields())
        super().__init_subclass__(**kwargs)

    def __str__(self) -> str:
        return self.name

    @property
    def synced(self) -> bool:
        """Whether the passkey is backed up, so it survives losing the device."""
        return self.backed_up

    @property
    def transport_list(self) -> list[str]:
        """``transports`` as a list (``["internal", "hybrid"]``)."""
        return [name for name in self.transports.split(",") if name]


def _passkey_fields() -> dict[str, Any]:
    return {
        "name": fields.string(max_length=100),
        # base64url, as the browser sends it; ``credential_key`` is what is looked up.
        "credential_id": fields.string(max_length=CREDENTIAL_ID_LENGTH, editable=False),
        "credential_key": fields.string(max_length=64, unique=True, editable=False),
        # The COSE public key, base64url.
        "public_key": fields.text(editable=False),
        # The WebAuthn user handle (random, the same for all of a user's passkeys).
        "user_handle": fields.string(max_length=100, editable=False),
        "sign_count": fields.big_integer(default=0, editable=False),
        "transports": fields.string(max_length=200, default="", blank=True, editable=False),
        "backup_eligible": fields.boolean(default=False, editable=False),
        "backed_up": fields.boolean(default=False, editable=False),
        "created": fields.datetime(auto_now_add=True),
        "last_used": fields.datetime(null=True, editable=False),
    }


def passkey_model_for(user_model: type[AbstractUser]) -> type[AbstractPasskey]:
    """The passkey model of ``user_model``, declared on first call (table
    ``<user table>_passkey``)::

        MemberPasskey = passkey_model_for(Member)
    """
    link = fields.foreign_key(user_model, related_name="passkeys")
    return model_for(user_model, AbstractPasskey, "passkey", link)


__all__ = ["CREDENTIAL_ID_LENGTH", "AbstractPasskey", "credential_key", "passkey_model_for"]
