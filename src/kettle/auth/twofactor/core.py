"""``TwoFactor``: the battery that asks for an authenticator code after the password.

::

    auth = Auth(app)
    two_factor = TwoFactor(auth, options=TwoFactorOptions(required_for_staff=True))

It registers two second factors with ``auth`` (``kettle.auth.factors``): ``"totp"``, a
6-digit code from an authenticator app, and ``"recovery"``, one of ten single-use codes
shown once at enrolment. Its pages live under ``{prefix}/2fa`` (``kettle.auth.twofactor
.views``). Code attempts are throttled per user and per client address, in the store of
the login throttle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kettle.auth.account import AccountLink
from kettle.auth.models import AbstractUser
from kettle.auth.throttling import LoginThrottle
from kettle.auth.twofactor import codes
from kettle.auth.twofactor.models import (
    AbstractRecoveryCode,
    AbstractTotp,
    recovery_model_for,
    totp_model_for,
)
from kettle.db import fields
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_

if TYPE_CHECKING:
    from kettle.auth.core import Auth

logger = logging.getLogger("kettle.auth")
#: The 409 page when the app's secret keys no longer open a user's TOTP secret.
UNREADABLE = N_(
    "The authenticator of this account can no longer be checked: the site's secret key "
    "changed. Sign in with a recovery code, or ask an administrator to turn two-factor "
    "authentication off for you, then set it up again."
)


@dataclass(frozen=True, kw_only=True)
class TwoFactorOptions:
    """What ``TwoFactor`` can be tuned with::

    TwoFactor(auth, options=TwoFactorOptions(issuer="Kettle News", required_for_staff=True))
    """

    #: The name authenticator apps show next to the account; None: the app's name.
    issuer: str | None = None
    #: Staff (``is_staff``) must enrol before they are signed in.
    required_for_staff: bool = False
    #: ``fn(user) -> bool``: True makes a second factor required of that user too (on
    #: top of ``required_for_staff`` and the per-user ``required`` flag).
    required: Callable[[AbstractUser], bool] | None = None
    #: Wrong codes per user, and per client address, within ``throttle_window``.
    max_failures_per_user: int = 5
    #: Wrong codes per client address within ``throttle_window``.
    max_failures_per_address: int = 20
    #: The window of the code limits, in seconds (15 minutes).
    throttle_window: int = 15 * 60


class CodeThrottle(LoginThrottle):
    """The login throttle's limits over keys of their own: wrong codes per user id and
    per client address (``blocked``, ``failed``, ``succeeded`` take the user's id)::

    wait = await throttle.blocked(str(user.id), address)
    """

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[str, str]:
        account, client = LoginThrottle._keys(username, address)
        return "2fa:" + account, "2fa:" + client


class TotpFactor:
    """The ``"totp"`` second factor: a code from the user's authenticator app."""

    #: The URL segment of its page: ``{prefix}/2fa/totp``.
    name = "totp"
    #: What the other factors' pages call it.
    label = N_("Authenticator app")

    def __init__(self, two_factor: TwoFactor) -> None:
        self.two_factor = two_factor

    async def aenrolled(self, user: AbstractUser) -> bool:
        """Whether ``user`` confirmed an authenticator."""
        device = await self.two_factor.adevice(user)
        return device is not None and device.is_on


class RecoveryFactor:
    """The ``"recovery"`` second factor: one of the user's unused recovery codes."""

    #: The URL segment of its page: ``{prefix}/2fa/recovery``.
    name = "recovery"
    #: What the other factors' pages call it.
    label = N_("A recovery code")

    def __init__(self, two_factor: TwoFactor) -> None:
        self.two_factor = two_factor

    async def aenrolled(self, user: AbstractUser) -> bool:
        """Whether ``user`` has a recovery code left."""
        return await self.two_factor.acodes_left(user) > 0


class TwoFactor:
    """Two-factor authentication for ``auth`` (see the module docstring);
    ``app.state.two_factor``. Create it right after ``Auth``::

        two_factor = TwoFactor(auth, options=TwoFactorOptions(issuer="Kettle News"))
        await two_factor.arequire(ann)   # ann must enrol at her next sign-in
    """

    def __init__(self, auth: Auth, *, options: TwoFactorOptions | None = None) -> None:
        from kettle.auth.twofactor import views

        self.auth = auth
        self.options = options or TwoFactorOptions()
        self.totp_model: type[AbstractTotp] = totp_model_for(auth.user_model)
        self.recovery_model: type[AbstractRecoveryCode] = recovery_model_for(auth.user_model)
        self.throttle = CodeThrottle(
            auth.throttle.store,
            max_per_account=self.options.max_failures_per_user,
            max_per_address=self.options.max_failures_per_address,
            window=self.options.throttle_window,
        )
        auth.add_second_factor(TotpFactor(self))
        auth.add_second_factor(RecoveryFactor(self))
        auth.require_second_factor(self.arequired)
        auth.second_factor_enrolment = auth.options.prefix + "/2fa/setup"
        views.add_routes(auth.group)
        auth.add_account_link(
            AccountLink(
                N_("Two-factor authentication"),
                "auth.2fa_setup",
                N_("A code from an app on your phone after your password."),
            )
        )
        auth.app.state.two_factor = self

    @property
    def issuer(self) -> str:
        """The issuer authenticator apps show: ``options.issuer`` or the app's name."""
        return self.options.issuer or self.auth.app.name

    # --- the authenticator --------------------------------------------------------------
    async def adevice(self, user: AbstractUser) -> AbstractTotp | None:
        """``user``'s TOTP row (confirmed or not), or None."""
        device: AbstractTotp | None = await self.totp_model.objects.filter(user_id=user.id).afirst()
        return device

    async def aenrolled(self, user: AbstractUser) -> bool:
        """Whether ``user`` has confirmed an authenticator::

        if await two_factor.aenrolled(ann): ...
        """
        device = await self.adevice(user)
        return device is not None and device.is_on

    async def arequired(self, user: AbstractUser) -> bool:
        """Whether a second factor is required of ``user`` (staff by option, the user's
        ``required`` flag, the ``required`` hook)."""
        if self.options.required_for_staff and user.is_staff:
            return True
        if self.options.required is not None and self.options.required(user):
            return True
        device = await self.adevice(user)
        return device is not None and device.required

    async def arequire(self, user: AbstractUser, required: bool = True) -> None:
        """Make a second factor required of ``user`` (or no longer, with False)::

        await two_factor.arequire(ann)
        """
        device = await self.aenrolment_device(user)
        device.required = required
        await device.asave()

    async def aenrolment_device(self, user: AbstractUser) -> AbstractTotp:
        """``user``'s TOTP row, made with a new secret when there is none (the enrolment
        page shows its secret until a first code confirms it)::

            device = await two_factor.aenrolment_device(ann)
        """
        device = await self.adevice(user)
        if device is None:
            sealed = codes.seal(codes.new_secret(), self.auth.app.settings.secret_key)
            device = self.totp_model(user_id=user.id, secret=sealed)
            await device.asave()
        elif not device.is_on and not self._readable(device):
            # Never confirmed, so nothing depends on it: a new secret to scan.
            device.secret = codes.seal(codes.new_secret(), self.auth.app.settings.secret_key)
            await device.asave()
        return device

    def _readable(self, device: AbstractTotp) -> bool:
        settings = self.auth.app.settings
        keys = [settings.secret_key, *settings.secret_key_fallbacks]
        try:
            codes.unseal(device.secret, keys)
        except codes.SealError:
            return False
        return True

    def secret_of(self, device: AbstractTotp) -> str:
        """The TOTP secret of ``device``, opened with the app's secret keys; a 409 page
        when none opens it (the secret key changed with no fallback kept)."""
        settings = self.auth.app.settings
        keys = [settings.secret_key, *settings.secret_key_fallbacks]
        try:
            return codes.unseal(device.secret, keys)
        except codes.SealError as error:
            logger.error("Two-factor authentication of user %s: %s", device.user_id, error)
            raise HTTPException(409, _(UNREADABLE)) from error

    async def averify(self, user: AbstractUser, code: str, *, confirm: bool = False) -> bool:
        """Whether ``code`` is a current code of ``user``'s authenticator not used before
        (its time step is recorded, so the same code is refused next time). ``confirm``
        accepts an unconfirmed authenticator and turns it on::

            if await two_factor.averify(ann, "492039"): ...
        """
        device = await self.adevice(user)
        if device is None or (not device.is_on and not confirm):
            return False
        step = codes.matching_step(self.secret_of(device), code, after=device.last_step)
        if step is None:
            return False
        # NOTE: a conditional UPDATE: of two requests with the same code, one wins.
        query = self.totp_model.objects.filter(id=device.id, last_step__lt=step)
        values: dict[str, object] = {"last_step": step}
        if not device.is_on:
            values["confirmed"] = fields.now()
        return await query.aupdate(**values) == 1

    async def adisable(self, user: AbstractUser) -> None:
        """Forget ``user``'s authenticator and recovery codes (the ``required`` flag with
        them: if the user must have a factor, they are asked to enrol at next sign-in)::

            await two_factor.adisable(ann)
        """
        await self.recovery_model.objects.filter(user_id=user.id).adelete()
        device = await self.adevice(user)
        if device is not None and device.required:
            device.confirmed = None
            device.last_step = 0
            device.secret = codes.seal(codes.new_secret(), self.auth.app.settings.secret_key)
            await device.asave()
        elif device is not None:
            await device.adelete()

    # --- recovery codes -----------------------------------------------------------------
    async def anew_recovery_codes(self, user: AbstractUser) -> list[str]:
        """Replace ``user``'s recovery codes with ``codes.RECOVERY_CODES`` new ones and
        return them (shown once: only their hashes are kept)::

            fresh = await two_factor.anew_recovery_codes(ann)
        """
        await self.recovery_model.objects.filter(user_id=user.id).adelete()
        fresh = codes.new_recovery_codes()
        rows = [
            self.recovery_model(user_id=user.id, code_hash=codes.hash_recovery_code(code))
            for code in fresh
        ]
        await self.recovery_model.objects.abulk_create(rows)
        return fresh

    async def ause_recovery_code(self, user: AbstractUser, code: str) -> bool:
        """Whether ``code`` is an unused recovery code of ``user``; it is used up::

        if await two_factor.ause_recovery_code(ann, "k7mq2-x9frt"): ...
        """
        query = self.recovery_model.objects.filter(
            user_id=user.id, code_hash=codes.hash_recovery_code(code), used_at=None
        )
        return await query.aupdate(used_at=fields.now()) == 1

    async def acodes_left(self, user: AbstractUser) -> int:
        """How many unused recovery codes ``user`` has."""
        query = self.recovery_model.objects.filter(user_id=user.id, used_at=None)
        count: int = await query.acount()
        return count


__all__ = ["CodeThrottle", "RecoveryFactor", "TotpFactor", "TwoFactor", "TwoFactorOptions"]
