"""``Passkeys``: WebAuthn sign-in for kettle.auth, passwordless and as a second factor.

::

    auth = Auth(app)
    passkeys = Passkeys(auth)   # the request's own host is the relying party

    # In production, name the domain the passkeys belong to and where they are used:
    Passkeys(auth, options=PasskeyOptions(
        rp_id="example.org", rp_name="Example", origins=["https://example.org"]))
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from kettle.auth.account import AccountLink
from kettle.auth.models import AbstractUser
from kettle.auth.passkeys.ceremony import PasskeyError, RelyingParty, decode
from kettle.auth.passkeys.models import AbstractPasskey, passkey_model_for
from kettle.exceptions import ConfigurationError
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request
from kettle.scaffold import Group

if TYPE_CHECKING:
    from kettle.auth.core import Auth

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, kw_only=True)
class PasskeyOptions:
    """What ``Passkeys`` can be tuned with::

    Passkeys(auth, options=PasskeyOptions(rp_id="example.org", max_per_user=5))
    """

    #: The domain the passkeys belong to (``example.org`` also covers its subdomains);
    #: None: the host name of each request (right for a site served under one name).
    rp_id: str | None = None
    #: The site's name, as the authenticator shows it; None: the RP id.
    rp_name: str | None = None
    #: The origins passkeys may be used on (``https://example.org``); empty: the request's
    #: own. Needs ``rp_id``.
    origins: Sequence[str] = ()
    #: The most passkeys one user may register.
    max_per_user: int = 20
    #: Whether the authenticator must keep the passkey (``"required"``: it can then sign in
    #: with no username), may (``"preferred"``) or should not (``"discouraged"``).
    resident_key: Literal["required", "preferred", "discouraged"] = "required"
    #: Offer passkeys on the second-factor page after a password (``auth.second_factors``).
    second_factor: bool = True


class PasskeyFactor:
    """Passkeys as a second factor (``kettle.auth.factors``): enrolled with one passkey::

    auth.add_second_factor(PasskeyFactor(Passkey))
    """

    #: The URL segment of its page: ``{prefix}/2fa/passkey``.
    name = "passkey"
    #: What the other factors' pages call it (translated where it is shown).
    label = N_("Passkey")

    def __init__(self, model: type[AbstractPasskey]) -> None:
        self.model = model

    async def aenrolled(self, user: AbstractUser) -> bool:
        """Whether ``user`` has a passkey."""
        return await self.model.objects.filter(user_id=user.id).aexists()


class Passkeys:
    """Passkeys for ``auth``'s users (see the module docstring); ``app.state.passkeys``.

    Adds the table ``<user table>_passkey`` (``model``), the pages and JSON endpoints under
    ``{prefix}/passkeys`` and ``{prefix}/2fa/passkey``, the script they run, and the
    ``passkey`` second factor::

        passkeys = Passkeys(auth)
        passkeys.model          # the Passkey model of auth.user_model
    """

    def __init__(self, auth: Auth, *, options: PasskeyOptions | None = None) -> None:
        self.auth = auth
        self.options = options or PasskeyOptions()
        self._fixed = _check(self.options)
        if getattr(auth.app.state, "passkeys", None) is not None:
            raise ConfigurationError(
                "Passkeys is installed on this app already: create `Passkeys(auth)` once, "
                "and keep the object it returns (also at app.state.passkeys)."
            )
        self.model = passkey_model_for(auth.user_model)
        from kettle.auth.passkeys import api, pages

        pages.add_routes(auth.group)
        api.add_routes(auth.group)
        # The script, at {prefix}/passkeys/static/passkeys.js (url_for "passkeys.static").
        auth.app.include(
            Group("passkeys", prefix=auth.options.prefix + "/passkeys", root=HERE, static="static")
        )
        if self.options.second_factor:
            auth.add_second_factor(PasskeyFactor(self.model))
        auth.ways_in(self.aways_in)
        auth.add_account_link(
            AccountLink(
                N_("Passkeys"), "auth.passkeys", N_("Sign in with your phone, face or key.")
            )
        )
        auth.app.state.passkeys = self

    async def aways_in(self, user: AbstractUser) -> list[str]:
        """``user``'s passkeys as ways in (``auth.aways_in``): ``["passkey:7", ...]``."""
        ids = self.model.objects.filter(user_id=user.id).values_list("id", flat=True)
        return [f"passkey:{id}" for id in await ids.alist()]

    def relying_party(self, request: Request) -> RelyingParty:
        """Who the passkeys of ``request`` are for: the configured RP, else the request's
        own host and origin::

            passkeys.relying_party(request).id   # "localhost"
        """
        if self._fixed is not None:
            return self._fixed  # PERF: configured once, the same for every request
        host = request.host
        name = urlsplit(f"//{host}").hostname or ""
        if not name or _is_address(name):
            raise PasskeyError(
                _(
                    "Passkeys belong to a domain name, and this page was opened at the "
                    "address %(host)s. Open the site by its name (such as localhost) and try "
                    "again."
                )
                % {"host": repr(host)}
            )
        origin = f"{request.scheme}://{host}"
        return RelyingParty(name, self.options.rp_name or name, (origin,))

    async def user_handle(self, user: AbstractUser) -> bytes:
        """The WebAuthn user handle of ``user``: random, the same for all their passkeys
        (so an authenticator keeps one passkey per account and site)."""
        first = await self.model.objects.filter(user_id=user.id).order_by("id").afirst()
        return decode(first.user_handle, N_("user handle")) if first else secrets.token_bytes(32)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _check(options: PasskeyOptions) -> RelyingParty | None:
    """The fixed relying party of ``options`` (None: per request); ConfigurationError when
    the options cannot work."""
    if options.max_per_user < 1:
        raise ConfigurationError(
            f"PasskeyOptions(max_per_user={options.max_per_user}) lets nobody register a "
            "passkey: give 1 or more."
        )
    rp_id = options.rp_id
    if rp_id is None:
        if options.origins:
            raise ConfigurationError(
                "PasskeyOptions(origins=...) needs rp_id too: the domain the passkeys belong "
                "to, such as rp_id='example.org' for https://example.org."
            )
        return None
    if not rp_id or rp_id != rp_id.lower() or any(c in rp_id for c in ":/ ") or _is_address(rp_id):
        raise ConfigurationError(
            f"PasskeyOptions(rp_id={rp_id!r}) is not a domain name: give the site's host "
            "name in lower case, without scheme or port, such as 'example.org'."
        )
    origins = tuple(options.origins) or (f"https://{rp_id}",)
    for origin in origins:
        parts = urlsplit(origin)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or parts.path or parts.query or not host:
            raise ConfigurationError(
                f"PasskeyOptions(origins=...) has {origin!r}, which is not an origin: give "
                "scheme and host (and port), such as 'https://example.org'."
            )
        if host != rp_id and not host.endswith("." + rp_id):
            raise ConfigurationError(
                f"PasskeyOptions: the origin {origin!r} is not on {rp_id!r} or a subdomain "
                "of it, so browsers would refuse its passkeys. Fix rp_id or the origin."
            )
    return RelyingParty(rp_id, options.rp_name or rp_id, origins)


__all__ = ["PasskeyFactor", "PasskeyOptions", "Passkeys"]
