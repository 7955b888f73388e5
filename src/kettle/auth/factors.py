"""The second-factor seam: how a sign-in waits for a second factor, whatever proved the first.

Every sign-in path (the password form, OpenID Connect, passkeys, sign-up, a password
reset) ends with one call, once the first factor is proven::

    return await auth.complete_sign_in(request, user, method="password", next_url=next_url)

With no second factor in play this is ``alogin`` and a 303 to ``next_url``. When the user
has a factor enrolled (``SecondFactor.aenrolled``), or a policy hook
(``auth.require_second_factor``) says they need one, nobody is signed in: the session
keeps a *pending* sign-in (the user's id, a hash that a password change voids, the
method, ``next_url``, the time) under a new session id, and the answer is a 303 to
``{prefix}/2fa`` (the challenge) or, when a factor is required and none is enrolled, to
``auth.second_factor_enrolment``. A pending user is anonymous on every page.

A factor is anything with a ``name`` (its URL segment: ``{prefix}/2fa/<name>``), a
``label`` for the challenge page and ``aenrolled(user)``; batteries register theirs with
``auth.add_second_factor``. Its verify view reads ``auth.apending_user(request)`` and,
once the code or assertion checks out, answers with ``auth.finish_second_factor``::

    class Totp:
        name = "totp"
        label = "Authenticator app"

        async def aenrolled(self, user):
            return await TotpDevice.objects.filter(user_id=user.id).aexists()

    auth.add_second_factor(Totp())

    async def verify(request):
        user = await auth.apending_user(request)   # None: expired, voided or none
        ...
        return await auth.finish_second_factor(request, "totp")

A pending sign-in lasts ``PENDING_SECONDS`` (5 minutes). Method ``"passkey"`` signs in
directly: a user-verified passkey is already two factors.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kettle.auth.models import AbstractUser
from kettle.exceptions import ConfigurationError
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.core import Auth

#: The session key of a sign-in waiting on its second factor.
SESSION_PENDING = "_auth_pending"
#: The session key naming the second factor the signed-in user passed ("totp", ...).
SESSION_FACTOR = "_auth_factor"
#: How long a pending sign-in waits for its second factor, in seconds.
PENDING_SECONDS = 5 * 60
#: Sign-in methods that are two factors already (no challenge follows them).
TWO_FACTOR_METHODS = frozenset({"passkey"})


@runtime_checkable
class SecondFactor(Protocol):
    """A second factor (see the module docstring): ``name`` is the URL segment
    ``{prefix}/2fa/<name>``, ``label`` what the challenge page calls it::

    auth.add_second_factor(TotpFactor(...))
    """

    #: The URL segment of the factor's page, ``{prefix}/2fa/<name>``; unique per ``Auth``.
    name: str
    #: What the challenge pages call it ("Authenticator app"), in their list of other ways.
    label: str

    async def aenrolled(self, user: AbstractUser) -> bool:
        """Whether ``user`` can use this factor now."""
        ...


def check_name(factors: list[SecondFactor], factor: SecondFactor) -> None:
    """Raise ``ConfigurationError`` when a factor of ``factor.name`` is registered."""
    if any(known.name == factor.name for known in factors):
        raise ConfigurationError(
            f"A second factor named {factor.name!r} is registered already: each factor "
            "needs a name of its own (it is the URL segment /2fa/<name>). Install each "
            "battery once per Auth."
        )


def pending_hash(auth: Auth, user: AbstractUser) -> str:
    """What a pending sign-in keeps of ``user``: derived from the session hash, so a new
    password voids it, and never the session hash itself."""
    key = auth.session_hash(user).encode()
    return hmac.new(key, b"kettle.auth.pending", hashlib.sha256).hexdigest()


async def needs(auth: Auth, user: AbstractUser) -> tuple[bool, bool]:
    """``(enrolled, required)``: whether ``user`` has a factor, and whether they must."""
    for factor in auth.second_factors:
        if await factor.aenrolled(user):
            return True, True
    for hook in auth.second_factor_policies:
        if await hook(user):
            return False, True
    return False, False


def begin(auth: Auth, request: Request, user: AbstractUser, method: str, next_url: str) -> None:
    """Keep ``user`` pending on this session, under a new session id."""
    from kettle.auth.core import SESSION_USER  # NOTE: core imports this module

    session = request.session
    signed_in = session.get(SESSION_USER)
    if signed_in is not None and signed_in != user.id:
        auth.logout(request)  # someone else was signed in here: keep nothing of theirs
    session.cycle()
    session[SESSION_PENDING] = {
        "user": user.id,
        "hash": pending_hash(auth, user),
        "method": method,
        "next": next_url,
        "at": int(time.time()),
    }


def pending_state(request: Request) -> dict[str, Any] | None:
    """The pending entry of the session when it is well formed and not expired."""
    if request.session_data is None:
        return None
    state = request.session.get(SESSION_PENDING)
    if not isinstance(state, dict) or not isinstance(state.get("user"), int):
        return None
    at = state.get("at")
    if not isinstance(at, int) or not 0 <= time.time() - at <= PENDING_SECONDS:
        return None
    return state


def still_valid(auth: Auth, state: dict[str, Any], user: AbstractUser | None) -> bool:
    """Whether ``user`` is the active user the pending ``state`` was made for."""
    if user is None or not user.is_active:
        return False
    stored = state.get("hash")
    return isinstance(stored, str) and hmac.compare_digest(stored, pending_hash(auth, user))


def expired(auth: Auth, request: Request) -> Response:
    """The answer when there is no pending sign-in to finish: back to the login page."""
    request.session.pop(SESSION_PENDING, None)
    flash(request, _("Your sign-in expired or was not started. Sign in again."), "error")
    return RedirectResponse(request.link(auth.login_url), 303)


async def sign_in_pending(auth: Auth, request: Request, factor_name: str) -> str | None:
    """Sign the pending user in; returns where their sign-in was going (None: there is
    no pending sign-in to finish). ``finish_second_factor`` is this and the redirect; an
    enrolment page that shows recovery codes before going on calls it directly."""
    state = pending_state(request)
    user = await auth.apending_user(request)
    if state is None or user is None:
        return None
    request.session.pop(SESSION_PENDING, None)
    await auth.alogin(request, user)  # a new session id, the CSRF token rotated
    request.session[SESSION_FACTOR] = factor_name
    return str(state.get("next") or request.link(auth.options.redirect_url))


async def finish(auth: Auth, request: Request, factor_name: str) -> Response:
    """Sign the pending user in once ``factor_name`` checked out (``finish_second_factor``)."""
    next_url = await sign_in_pending(auth, request, factor_name)
    if next_url is None:
        return expired(auth, request)
    return RedirectResponse(next_url, 303)


async def enrolled_factors(auth: Auth, user: AbstractUser) -> list[SecondFactor]:
    """The factors ``user`` can pass now, in the order they were registered::

    others = [f for f in await enrolled_factors(auth, user) if f.name != "totp"]
    """
    return [factor for factor in auth.second_factors if await factor.aenrolled(user)]


async def challenge(request: Request) -> Response:
    """``{prefix}/2fa``: on to the page of the pending user's first enrolled factor (or
    to enrolment when they must have one and have none)."""
    auth: Auth = request.app.state.auth
    user = await auth.apending_user(request)
    if user is None:
        return expired(auth, request)
    for factor in await enrolled_factors(auth, user):
        return RedirectResponse(request.link(f"{auth.options.prefix}/2fa/{factor.name}"), 303)
    return RedirectResponse(request.link(auth.second_factor_enrolment or auth.login_url), 303)


__all__ = [
    "PENDING_SECONDS",
    "SESSION_FACTOR",
    "SESSION_PENDING",
    "SecondFactor",
    "enrolled_factors",
    "sign_in_pending",
]
