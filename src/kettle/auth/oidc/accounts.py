"""Who a provider's assertion signs in: a linked account, a newly linked one, or a new one.

The rules, in order (``kettle.auth.oidc`` docs, "Linking accounts"):

1. A known (provider, subject) signs in its user.
2. A flow a signed-in user started to link a provider links it to them.
3. An address the provider says it verified, equal to the address of one account whose
   owner also proved it (``email_verified``), links that account and signs it in. Both
   must be verified: an unverified address at the provider could be anyone's (an
   attacker registers the victim's address there), and an unverified one here could be
   an attacker's account waiting for the victim (a "pre-hijacked" account).
4. Any other account with that address is refused, with a page that says to sign in with
   the password and link the provider from the account page.
5. Otherwise a new account (if ``AuthOptions.signup``), throttled like the sign-up page.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc

from kettle.auth import usernames, verification
from kettle.auth._render import render
from kettle.auth.core import get_user
from kettle.auth.models import AbstractUser
from kettle.auth.views import client_host, try_again
from kettle.db import atomic, fields
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.oidc.core import Providers
    from kettle.auth.oidc.flow import Flow
    from kettle.auth.oidc.models import AbstractIdentity
    from kettle.auth.oidc.providers import Assertion, Provider


def refused(
    title: str,
    message: str,
    *,
    status: int = 400,
    login: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page of a sign-in that did not happen: what went wrong and what to do
    (``login``: with a link back to the sign-in page)."""
    context = {"title": title, "message": message, "login": login}
    return render("auth/oidc_refused.html", status=status, headers=headers, **context)


async def complete(
    request: Request, oidc: Providers, provider: Provider, flow: Flow, assertion: Assertion
) -> Response:
    """Sign in, link or sign up for ``assertion`` (see the module docstring)."""
    model = oidc.identity_model
    query = model.objects.select_related("user")
    identity = await query.filter(provider=provider.name, subject=assertion.subject).afirst()
    if flow.purpose == "link":
        return await _link(request, oidc, provider, flow, assertion, identity)
    if identity is not None:
        _touch(identity, assertion)
        await identity.asave()
        await _adopt_verified(oidc, identity.user, assertion)
        return await _sign_in(request, oidc, identity.user, provider, flow.next_url)
    if assertion.email:
        users = oidc.auth.user_model.objects.filter(email__iexact=assertion.email)
        owners = await users.alist()
        if owners:
            owner = owners[0]
            if len(owners) == 1 and assertion.email_verified and owner.email_verified:
                with contextlib.suppress(sa_exc.IntegrityError):  # linked a moment ago
                    async with atomic():
                        await _new_identity(model, owner, provider, assertion)
                return await _sign_in(request, oidc, owner, provider, flow.next_url)
            return refused(
                _("Sign in with your password first"),
                _(
                    "An account here already uses the address %(email)s, and it cannot be "
                    "joined to your %(provider)s account without proof that both belong to "
                    "you. Sign in with your username and password, then link %(provider)s "
                    "from your account page."
                )
                % {"email": assertion.email, "provider": provider.title},
                status=409,
                login=True,
            )
    return await _sign_up(request, oidc, provider, flow, assertion)


async def _link(
    request: Request,
    oidc: Providers,
    provider: Provider,
    flow: Flow,
    assertion: Assertion,
    identity: AbstractIdentity | None,
) -> Response:
    user = get_user(request)
    if not isinstance(user, AbstractUser) or user.id != flow.user_id:
        return refused(
            _("Sign in to link an account"),
            _(
                "The %(provider)s account was not linked: the account that asked for it is "
                "no longer signed in here. Sign in and link it again from your account page."
            )
            % {"provider": provider.title},
        )
    if identity is not None and identity.user_id != user.id:
        return refused(
            _("Already linked to another account"),
            _(
                "This %(provider)s account already signs in another account here, so it "
                "was not linked to yours. Unlink it there first."
            )
            % {"provider": provider.title},
            status=409,
        )
    if identity is None:
        await _new_identity(oidc.identity_model, user, provider, assertion)
        message = _("Your %(provider)s account is now linked.")
        flash(request, message % {"provider": provider.title}, "success")
    else:
        _touch(identity, assertion)
        await identity.asave()
        message = _("Your %(provider)s account was already linked.")
        flash(request, message % {"provider": provider.title}, "info")
    return RedirectResponse(flow.next_url, 303)


async def _sign_up(
    request: Request, oidc: Providers, provider: Provider, flow: Flow, assertion: Assertion
) -> Response:
    auth = oidc.auth
    if not auth.options.signup:
        return refused(
            _("No account is linked"),
            _(
                "No account here is linked to this %(provider)s account, and this site "
                "does not open accounts by itself. Sign in with your password and link "
                "%(provider)s from your account page."
            )
            % {"provider": provider.title},
            status=403,
            login=True,
        )
    wait = await auth.signup_throttle.attempt(client_host(request))
    if wait:
        message = try_again(_("Too many accounts were created from your network."), wait)
        return refused(_("Please wait"), message, status=429, headers={"Retry-After": str(wait)})
    model = auth.user_model
    user = model(
        username=await unique_username(model, _name_from(provider, assertion)),
        email=assertion.email,
        email_verified=assertion.email_verified and bool(assertion.email),
    )
    user.set_unusable_password()
    try:
        async with atomic():
            await user.asave()
            await _new_identity(oidc.identity_model, user, provider, assertion)
    except sa_exc.IntegrityError:  # the same name, or the same sign-in, a moment ago
        winner = await _winner(oidc, provider, assertion)
        if winner is not None:  # two callbacks at once for one new account: theirs won
            return await _sign_in(request, oidc, winner, provider, flow.next_url)
        return refused(_("Please try again"), _("The account could not be created: try again."))
    for hook in auth.signup_hooks:
        await hook(request, user)
    if not user.email_verified:  # a link to verify it; "mandatory": not signed in yet
        sent = await verification.after_signup(request, user)
        if sent is not None:
            return sent
    flash(request, _("Welcome, %(name)s!") % {"name": user.username}, "success")
    return await _sign_in(request, oidc, user, provider, flow.next_url)


async def _winner(oidc: Providers, provider: Provider, assertion: Assertion) -> AbstractUser | None:
    """The user another request just linked to this (provider, subject), if any."""
    # NOTE: locking reads see the rows committed since this transaction began (MariaDB
    # reads from the transaction's first snapshot otherwise).
    query = oidc.identity_model.objects.select_for_update(read=True)
    identity = await query.filter(provider=provider.name, subject=assertion.subject).afirst()
    if identity is None:
        return None
    users = oidc.auth.user_model.objects.select_for_update(read=True)
    winner: AbstractUser | None = await users.filter(id=identity.user_id).afirst()
    return winner


async def _sign_in(
    request: Request, oidc: Providers, user: AbstractUser, provider: Provider, next_url: str
) -> Response:
    if not user.is_active:
        return refused(
            _("This account is disabled"),
            _("The account linked to this sign-in is disabled. Ask the site's staff."),
            status=403,
        )
    # The second-factor seam: 2FA still applies after a provider proved the person.
    method = f"oidc:{provider.name}"
    return await oidc.auth.complete_sign_in(request, user, method=method, next_url=next_url)


async def _adopt_verified(oidc: Providers, user: AbstractUser, assertion: Assertion) -> None:
    """Mark ``user``'s address verified when the provider says it verified that very
    address, and no other account here has verified it (as following a link would)."""
    email = assertion.email
    if user.email_verified or not assertion.email_verified or not email:
        return
    if email.casefold() != user.email.casefold():
        return
    others = oidc.auth.user_model.objects.filter(email__iexact=email, email_verified=True)
    if await others.exclude(id=user.id).aexists():
        return
    user.email_verified = True
    await user.asave()


def _touch(identity: AbstractIdentity, assertion: Assertion) -> None:
    identity.email = assertion.email
    identity.email_verified = assertion.email_verified
    identity.last_used = fields.now()


async def _new_identity(
    model: type[AbstractIdentity], user: AbstractUser, provider: Provider, assertion: Assertion
) -> AbstractIdentity:
    identity = model(user=user, provider=provider.name, subject=assertion.subject)
    _touch(identity, assertion)
    await identity.asave()
    return identity


def _name_from(provider: Provider, assertion: Assertion) -> str:
    for candidate in (assertion.username, assertion.email.partition("@")[0]):
        name = usernames.normalize_username(candidate)[:140]
        if name and not usernames.check_username(name):
            return name
    return f"{provider.name}-user"


async def unique_username(model: type[AbstractUser], base: str) -> str:
    """``base``, or ``base2``, ``base3``... : the first whose look-alike key is free::

    await unique_username(User, "ann")   # "ann2" when "ann" (or "Ann") is taken
    """
    candidates = [base] + [f"{base}{n}" for n in range(2, 10)]
    candidates.append(f"{base}-{secrets.token_hex(4)}")
    for name in candidates:
        keys = sorted(usernames.lookalike_keys(name))
        if not await model.objects.filter(username_key__in=keys).aexists():
            return name
    return f"{base}-{secrets.token_hex(8)}"


__all__ = ["complete", "refused", "unique_username"]
