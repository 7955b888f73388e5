"""The rows of two-factor authentication: a TOTP authenticator and recovery codes per user.

Each user model gets its own tables, declared on first use like its API tokens
(``token_model_for``): ``<user table>_totp`` and ``<user table>_recovery_code``::

    Totp = totp_model_for(User)              # table auth_user_totp
    RecoveryCode = recovery_model_for(User)  # table auth_user_recovery_code

The TOTP secret is stored encrypted (``kettle.auth.twofactor.secrets``); a recovery code
only as a SHA-256 hash (codes are random and long, so a slow hash adds nothing).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from kettle.auth.models import AbstractUser, _declare, model_for
from kettle.db import Model, fields


class AbstractTotp(Model):
    """A user's authenticator app: the encrypted secret, whether the user confirmed it
    with a first code (``confirmed``), the last time step a code was accepted for (a code
    works once) and whether a second factor is required of this user (``required``)::

        device = await Totp.objects.filter(user_id=ann.id).afirst()
        device.is_on    # True once confirmed
    """

    __abstract__ = True

    if TYPE_CHECKING:  # declared on each concrete subclass by __init_subclass__
        id: int
        secret: str
        confirmed: dt.datetime | None
        last_step: int
        required: bool
        created: dt.datetime
        user_id: int
        user: AbstractUser

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__dict__.get("__abstract__", False):
            _declare(
                cls,
                {
                    "secret": fields.string(max_length=255, editable=False),
                    "confirmed": fields.datetime(null=True, editable=False),
                    "last_step": fields.big_integer(default=0, editable=False),
                    "required": fields.boolean(default=False),
                    "created": fields.datetime(auto_now_add=True),
                },
            )
        super().__init_subclass__(**kwargs)

    @property
    def is_on(self) -> bool:
        """Whether codes are asked for: the user confirmed the authenticator."""
        return self.confirmed is not None


class AbstractRecoveryCode(Model):
    """One single-use recovery code of a user, stored as a SHA-256 hash::

    await RecoveryCode.objects.filter(user_id=ann.id, used_at=None).acount()
    """

    __abstract__ = True

    if TYPE_CHECKING:
        id: int
        code_hash: str
        used_at: dt.datetime | None
        created: dt.datetime
        user_id: int
        user: AbstractUser

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if not cls.__dict__.get("__abstract__", False):
            _declare(
                cls,
                {
                    "code_hash": fields.string(max_length=64, unique=True, editable=False),
                    "used_at": fields.datetime(null=True, editable=False),
                    "created": fields.datetime(auto_now_add=True),
                },
            )
        super().__init_subclass__(**kwargs)


def totp_model_for(user_model: type[AbstractUser]) -> type[AbstractTotp]:
    """The TOTP model of ``user_model``, declared on first call (``<user table>_totp``)::

    MemberTotp = totp_model_for(Member)
    """
    link = fields.one_to_one(user_model, related_name="totp")
    return model_for(user_model, AbstractTotp, "totp", link)


def recovery_model_for(user_model: type[AbstractUser]) -> type[AbstractRecoveryCode]:
    """The recovery-code model of ``user_model`` (``<user table>_recovery_code``)::

    MemberRecoveryCode = recovery_model_for(Member)
    """
    link = fields.foreign_key(user_model, related_name="recovery_codes")
    return model_for(user_model, AbstractRecoveryCode, "recovery_code", link)


__all__ = ["AbstractRecoveryCode", "AbstractTotp", "recovery_model_for", "totp_model_for"]
