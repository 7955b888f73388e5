"""The two-factor pages under ``{prefix}/2fa``.

Route names (``url_for``):

- ``auth.2fa_totp``, ``auth.2fa_recovery``: the challenge after the password, for the
  user whose sign-in waits on a second factor (``auth.apending_user``);
- ``auth.2fa_setup``: turn the authenticator on (a QR code and the secret as text, then
  a first code to confirm it), or see that it is on; also where a user who must have a
  second factor and has none is sent after their password. A signed-in user who did
  not sign in within 5 minutes types their password first (``kettle.auth.reauth``);
  once it is on, the user's other sessions end;
- ``auth.2fa_recovery_codes`` (POST): a new set of recovery codes, shown once;
- ``auth.2fa_disable`` (POST): turn two-factor authentication off.

The last two ask for a current code or the password again. Wrong codes count against
the user and the client address (``TwoFactor.throttle``): over a limit the form answers
429 with ``Retry-After``::

    client.post("/auth/2fa/totp", data={"code": "492039", "csrf_token": token})  # 303
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle.auth import factors, reauth
from kettle.auth._render import render
from kettle.auth.core import get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.twofactor import codes
from kettle.auth.views import auth_of, client_host, form_values, try_again
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.i18n._gettext import ngettext
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.core import Auth
    from kettle.auth.twofactor.core import TwoFactor
    from kettle.scaffold import Group

#: What a code form says when the code is wrong, used, or not for this user.
WRONG_CODE = N_("That code is not right, or it was used already. Try the newest one.")
_LONGEST = 64  # characters of a code worth looking at; anything longer is not a code


def two_factor_of(request: Request) -> TwoFactor:
    """The ``TwoFactor`` of the request's app."""
    two_factor: TwoFactor = request.app.state.two_factor
    return two_factor


def _clean(value: str) -> str:
    return "".join(value.split())[:_LONGEST]


async def _throttled(two_factor: TwoFactor, request: Request, user: AbstractUser) -> int:
    return await two_factor.throttle.blocked(str(user.id), client_host(request))


async def _counted(
    two_factor: TwoFactor, request: Request, user: AbstractUser, passed: bool
) -> None:
    """Count a wrong code against the user and the address; a right one clears the user."""
    if passed:
        await two_factor.throttle.succeeded(str(user.id), client_host(request))
    else:
        await two_factor.throttle.failed(str(user.id), client_host(request))


# --- the challenge ----------------------------------------------------------------------
async def totp_challenge(request: Request) -> Response:
    """Ask the pending user for a code from their authenticator app."""
    return await _challenge(request, "totp")


async def recovery_challenge(request: Request) -> Response:
    """Ask the pending user for one of their recovery codes."""
    return await _challenge(request, "recovery")


async def _challenge(request: Request, kind: str) -> Response:
    auth, two_factor = auth_of(request), two_factor_of(request)
    user = await auth.apending_user(request)
    if user is None:
        return factors.expired(auth, request)
    enrolled = await factors.enrolled_factors(auth, user)
    if kind not in [factor.name for factor in enrolled]:
        return RedirectResponse(f"{auth.options.prefix}/2fa", 303)
    others = [factor for factor in enrolled if factor.name != kind]
    if request.method == "GET":
        return _challenge_page(kind, others)
    code = _clean((await form_values(request, "code"))["code"])
    wait = await _throttled(two_factor, request, user)
    if wait:
        error = try_again(_("Too many wrong codes."), wait)
        return _challenge_page(kind, others, error, 429, {"Retry-After": str(wait)})
    problem = _code_problem(code, kind)
    if problem:
        return _challenge_page(kind, others, problem, 422)
    if kind == "totp":
        passed = await two_factor.averify(user, code)
    else:
        passed = await two_factor.ause_recovery_code(user, code)
    await _counted(two_factor, request, user, passed)
    if not passed:
        return _challenge_page(kind, others, _(WRONG_CODE), 422)
    if kind == "recovery":
        left = await two_factor.acodes_left(user)
        message = ngettext(
            "You have %(num)d recovery code left.", "You have %(num)d recovery codes left.", left
        )
        flash(request, message % {"num": left}, "info" if left else "error")
    return await auth.finish_second_factor(request, kind)


def _code_problem(code: str, kind: str) -> str:
    """What is wrong with the form of ``code`` ("" when it may be right)."""
    if not code:
        return _("Enter the code.") if kind == "recovery" else _("Enter the 6-digit code.")
    if kind == "totp" and not codes.is_code(code):
        return _("A code is %(digits)d digits, like 492039.") % {"digits": codes.DIGITS}
    return ""


def _challenge_page(
    kind: str,
    others: list[factors.SecondFactor],
    error: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        "auth/2fa_challenge.html",
        status=status,
        headers=headers,
        kind=kind,
        others=others,
        error=error,
    )


# --- enrolment --------------------------------------------------------------------------
async def setup(request: Request) -> Response:
    """Turn the authenticator on: the QR code, then a first code confirms it."""
    auth, two_factor = auth_of(request), two_factor_of(request)
    user, pending = await _setup_user(request)
    if user is None:
        return await _sign_in_first(request)
    if pending and not await _must_enrol(auth, two_factor, user):
        # NOTE: a pending user with any factor passes it; enrolling one instead would
        # skip it. Enrolment while pending is only for those who must and have none.
        return RedirectResponse(f"{auth.options.prefix}/2fa", 303)
    device = await two_factor.adevice(user)
    if device is not None and device.is_on:
        left = await two_factor.acodes_left(user)
        required = await two_factor.arequired(user)
        return render("auth/2fa_manage.html", errors={}, left=left, required=required)
    if not pending:  # a session someone took over must not turn it on: the password again
        refused = await reauth.require_recent(request)
        if refused is not None:
            return refused
    if request.method == "GET":
        return await _setup_page(two_factor, user, pending)
    code = _clean((await form_values(request, "code"))["code"])
    wait = await _throttled(two_factor, request, user)
    if wait:
        error = try_again(_("Too many wrong codes."), wait)
        return await _setup_page(two_factor, user, pending, error, 429, str(wait))
    problem = _code_problem(code, "totp")
    if problem:
        return await _setup_page(two_factor, user, pending, problem, 422)
    passed = await two_factor.averify(user, code, confirm=True)
    await _counted(two_factor, request, user, passed)
    if not passed:
        return await _setup_page(two_factor, user, pending, _(WRONG_CODE), 422)
    fresh = await two_factor.anew_recovery_codes(user)
    next_url = request.url_for("auth.2fa_setup")
    if pending:
        next_url = await factors.sign_in_pending(auth, request, "totp") or request.link(
            auth.login_url
        )
    ended = auth.session_store is not None  # every other session signed in without it
    if ended:
        await auth.aend_sessions(user, keep=request)
    return render("auth/2fa_codes.html", codes=fresh, next=next_url, new=True, ended=ended)


async def _setup_user(request: Request) -> tuple[AbstractUser | None, bool]:
    """The signed-in user, else the pending one who must enrol: ``(user, pending)``."""
    user = get_user(request)
    if isinstance(user, AbstractUser):
        return user, False
    pending = await auth_of(request).apending_user(request)
    return pending, pending is not None


async def _must_enrol(auth: Auth, two_factor: TwoFactor, user: AbstractUser) -> bool:
    if await factors.enrolled_factors(auth, user):
        return False
    return await two_factor.arequired(user)


async def _sign_in_first(request: Request) -> Response:
    response = await login_required.acheck_request(request)
    assert response is not None  # nobody is signed in, so the guard answers
    return response


async def _setup_page(
    two_factor: TwoFactor,
    user: AbstractUser,
    pending: bool,
    error: str = "",
    status: int = 200,
    retry_after: str = "",
) -> Response:
    device = await two_factor.aenrolment_device(user)
    secret = two_factor.secret_of(device)
    uri = codes.provisioning_uri(secret, user.username, two_factor.issuer)
    return render(
        "auth/2fa_setup.html",
        status=status,
        headers={"Retry-After": retry_after} if retry_after else None,
        qr=codes.qr_svg(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        pending=pending,
        error=error,
    )


# --- managing it, signed in ---------------------------------------------------------------
@login_required
async def recovery_codes(request: Request) -> Response:
    """A new set of recovery codes (the old ones stop working), after the password or a
    current code."""
    two_factor = two_factor_of(request)
    user = get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    refused = await _check_proof(request, two_factor, user)
    if refused is not None:
        return refused
    fresh = await two_factor.anew_recovery_codes(user)
    next_url = request.url_for("auth.2fa_setup")
    return render("auth/2fa_codes.html", codes=fresh, next=next_url, new=False, ended=False)


@login_required
async def disable(request: Request) -> Response:
    """Turn two-factor authentication off, after the password or a current code; refused
    to a user who must have it."""
    two_factor = two_factor_of(request)
    user = get_user(request)
    assert isinstance(user, AbstractUser)
    if await two_factor.arequired(user):
        flash(request, _("Two-factor authentication is required for your account."), "error")
        return RedirectResponse(request.url_for("auth.2fa_setup"), 303)
    refused = await _check_proof(request, two_factor, user)
    if refused is not None:
        return refused
    await two_factor.adisable(user)
    flash(request, _("Two-factor authentication is off."), "success")
    return RedirectResponse(request.url_for("auth.2fa_setup"), 303)


async def _check_proof(
    request: Request, two_factor: TwoFactor, user: AbstractUser
) -> Response | None:
    """None when the form's ``proof`` is a current code or the password; else the manage
    page again with the problem (422, or 429 when throttled)."""
    proof = (await form_values(request, "proof"))["proof"]
    errors: dict[str, list[str]] = {}
    wait = await _throttled(two_factor, request, user)
    headers = None
    if wait:
        errors["proof"] = [try_again(_("Too many wrong attempts."), wait)]
        headers = {"Retry-After": str(wait)}
    elif not proof:
        errors["proof"] = [_("Enter a code from your app, or your password.")]
    else:
        code = _clean(proof)
        if codes.is_code(code):
            passed = await two_factor.averify(user, code)
        else:
            passed = await request.app.run_sync(user.check_password, proof)
        await _counted(two_factor, request, user, passed)
        if not passed:
            errors["proof"] = [_("That is neither a current code nor your password.")]
    if not errors:
        return None
    return render(
        "auth/2fa_manage.html",
        status=429 if wait else 422,
        headers=headers,
        errors=errors,
        left=await two_factor.acodes_left(user),
        required=await two_factor.arequired(user),
    )


def add_routes(group: Group) -> None:
    """Add the two-factor pages to the auth group."""
    methods = ("GET", "POST")
    group.route("/2fa/totp", methods, name="2fa_totp")(totp_challenge)
    group.route("/2fa/recovery", methods, name="2fa_recovery")(recovery_challenge)
    group.route("/2fa/setup", methods, name="2fa_setup")(setup)
    group.post("/2fa/recovery-codes", name="2fa_recovery_codes")(recovery_codes)
    group.post("/2fa/disable", name="2fa_disable")(disable)


__all__ = ["WRONG_CODE", "add_routes", "two_factor_of"]
