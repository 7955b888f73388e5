"""The auth pages under ``/auth``: login, logout, sign-up and password change.

Route names (``url_for``): ``auth.login``, ``auth.logout``, ``auth.signup``,
``auth.password_change``, the reset pages of ``kettle.auth.reset`` and the token pages
of ``kettle.auth.account_tokens`` (``auth.tokens``, ``auth.token_revoke``). Every form
re-renders with its errors inline and status 422; a throttled login, sign-up or request
for a reset link answers 429 with ``Retry-After`` and says in the form when to try again::

    client.post("/auth/login", data={"username": "ann", "password": "...",
                                      "csrf_token": token})   # 303 to ?next= or "/"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import exc as sa_exc

from kettle import csrf
from kettle.auth import usernames
from kettle.auth._render import TEMPLATES, render
from kettle.auth.core import get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.usernames import normalize_username
from kettle.auth.validators import PasswordValidationError
from kettle.db.fields import FieldValidationError, validate_email
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.scaffold import Group
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.core import Auth

Errors = dict[str, list[str]]
#: The one message a failed login shows, whether the username or the password was wrong
#: (or the account is inactive), so the form does not tell who has an account.
INVALID_LOGIN = N_("Enter a correct username and password. Both are case-sensitive.")


def auth_of(request: Request) -> Auth:
    """The ``Auth`` of the request's app."""
    auth: Auth = request.app.state.auth
    return auth


def safe_next(value: str | None, default: str) -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirects)::

    safe_next("//evil.example/", "/")   # "/"
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    return default if parts.scheme or parts.netloc else value


async def form_values(request: Request, *names: str) -> dict[str, str]:
    """The text values of ``names`` in the posted form ("" when missing).

    The CSRF token is required even from a browser without cookies: a forged login or
    sign-up would otherwise sign the victim into the attacker's account.
    """
    config = request.app.config
    if config.csrf_enabled and not csrf.needs_check(request):
        # NOTE: the app checks requests that carry cookies; these are the rest.
        await csrf.check(request, config.csrf_trusted_origins)
    form = await request.form()
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def client_host(request: Request) -> str | None:
    """The client's address, which the throttles count per (None when unknown)."""
    return request.client.host if request.client is not None else None


def try_again(problem: str, wait: int) -> str:
    """The message of a throttled form: ``"<problem> Try again in 15 minute(s)."``."""
    minutes = max(1, round(wait / 60))
    return _("%(problem)s Try again in %(minutes)d minute(s).") % {
        "problem": problem,
        "minutes": minutes,
    }


def check_new_password(auth: Any, values: dict[str, str], user: Any, errors: Errors) -> None:
    """Add messages to ``errors`` when password1/password2 differ or fail the validators."""
    if values["password1"] and values["password1"] != values["password2"]:
        errors["password2"] = [_("The two passwords differ.")]
    elif values["password1"]:
        try:
            auth.validate_password(values["password1"], user)
        except PasswordValidationError as error:
            errors["password1"] = error.messages


async def set_new_password(request: Request, user: AbstractUser, password: str) -> None:
    """Hash ``password`` in the thread pool (Argon2 is slow on purpose) and save the user."""
    await request.app.run_sync(user.set_password, password)
    await user.asave()


async def email_taken(auth: Auth, user: AbstractUser, email: str) -> bool:
    """Whether an account other than ``user`` has verified ``email`` (whatever its case):
    an address is verified for one account at most."""
    others = auth.user_model.objects.filter(email__iexact=email, email_verified=True)
    return bool(await others.exclude(id=user.id).aexists())


def required(values: dict[str, str], *names: str) -> Errors:
    """``{"field": ["This field is required."]}`` for each empty field."""
    return {name: [_("This field is required.")] for name in names if not values[name]}


# --- login and logout ------------------------------------------------------------------------
async def login(request: Request) -> Response:
    """Sign in with a username and password (throttled; see ``LoginThrottle``)."""
    auth = auth_of(request)
    default = request.link(auth.options.redirect_url)
    if request.method == "GET":
        next_url = safe_next(request.query.get("next"), default)
        if get_user(request).is_authenticated:
            return RedirectResponse(next_url, 303)
        return _login_page(auth, next_url, "")
    values = await form_values(request, "username", "password", "next")
    next_url = safe_next(values["next"], default)
    username, password = normalize_username(values["username"]), values["password"]
    errors = required(values, "username", "password")
    if errors:
        return _login_page(auth, next_url, username, errors=errors, status=422)
    address = client_host(request)
    wait = await auth.throttle.blocked(username, address)
    if wait:
        message = try_again(_("Too many failed attempts."), wait)
        headers = {"Retry-After": str(wait)}
        return _login_page(auth, next_url, username, message, status=429, headers=headers)
    user = await auth.aauthenticate(username, password)
    if user is None:
        await auth.throttle.failed(username, address)
        return _login_page(auth, next_url, username, _(INVALID_LOGIN), status=422)
    await auth.throttle.succeeded(username, address)
    return await auth.complete_sign_in(request, user, method="password", next_url=next_url)


def _login_page(
    auth: Auth,
    next_url: str,
    username: str,
    error: str = "",
    *,
    errors: Errors | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        "auth/login.html",
        status=status,
        headers=headers,
        values={"username": username},
        errors=errors or {},
        error=error,
        next=next_url,
        signup=auth.options.signup,
    )


async def logout(request: Request) -> Response:
    """End the session (POST only, with the CSRF token) and go to ``?next=`` or home."""
    auth = auth_of(request)
    next_value = (await form_values(request, "next"))["next"] or request.query.get("next")
    auth.logout(request)
    return RedirectResponse(safe_next(next_value, request.link(auth.options.redirect_url)), 303)


# --- sign-up ---------------------------------------------------------------------------------
async def signup(request: Request) -> Response:
    """Create an account and sign in (throttled per address; see ``SignupThrottle``).

    Usernames are unique whatever their case and look: a name whose look-alike key
    (``kettle.auth.usernames``) is taken is refused, and so is one mixing scripts.
    """
    auth = auth_of(request)
    if not auth.options.signup:
        raise HTTPException(404, _("Sign-up is closed on this site."))
    next_url = safe_next(request.query.get("next"), request.link(auth.options.redirect_url))
    if request.method == "GET":
        return _signup_page({"username": "", "email": ""}, {}, next_url)
    names = ("username", "email", "password1", "password2", "next")
    values = await form_values(request, *names)
    next_url = safe_next(values["next"], request.link(auth.options.redirect_url))
    address = client_host(request)
    wait = await auth.signup_throttle.blocked(address)
    if wait:
        return _signup_throttled(values, next_url, wait)
    values["username"] = normalize_username(values["username"])
    values["email"] = values["email"].strip()
    model = auth.user_model
    errors = required(values, "username", "password1", "password2")
    from kettle.auth import verification  # NOTE: here, as it imports this module

    errors.update(verification.signup_problems(auth, values["email"]))
    username = values["username"]
    problems = usernames.check_username(username) if username else []
    if problems:
        errors["username"] = problems
    elif username:
        keys = usernames.lookalike_keys(username)
        if await model.objects.filter(username_key__in=sorted(keys)).aexists():
            errors["username"] = [usernames.TAKEN]
    if values["email"]:
        try:
            validate_email(values["email"])
        except FieldValidationError as error:
            errors["email"] = [str(error)]
    if values["password1"] and values["password1"] != values["password2"]:
        errors["password2"] = [_("The two passwords differ.")]
    user = model(username=username, email=values["email"])
    if values["password1"] and "password2" not in errors:
        try:
            auth.validate_password(values["password1"], user)
        except PasswordValidationError as error:
            errors["password1"] = error.messages
    if errors:
        return _signup_page(values, errors, next_url, status=422)
    wait = await auth.signup_throttle.attempt(address)
    if wait:  # NOTE: another sign-up from this address took the last one a moment ago
        return _signup_throttled(values, next_url, wait)
    await request.app.run_sync(user.set_password, values["password1"])
    try:
        await user.asave()
    except sa_exc.IntegrityError:  # the same name (or its look-alike), a moment ago
        return _signup_page(values, {"username": [usernames.TAKEN]}, next_url, 422)
    for hook in auth.signup_hooks:
        await hook(request, user)
    sent = await verification.after_signup(request, user)
    if sent is not None:  # mandatory verification: not signed in until the link is followed
        return sent
    flash(request, _("Welcome, %(name)s!") % {"name": user.username}, "success")
    return await auth.complete_sign_in(request, user, method="signup", next_url=next_url)


def _signup_page(
    values: dict[str, Any],
    errors: Errors,
    next_url: str,
    status: int = 200,
    *,
    error: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    shown = {"username": values.get("username", ""), "email": values.get("email", "")}
    return render(
        "auth/signup.html",
        status=status,
        headers=headers,
        values=shown,
        errors=errors,
        error=error,
        next=next_url,
    )


def _signup_throttled(values: dict[str, Any], next_url: str, wait: int) -> Response:
    message = try_again(_("Too many accounts were created from your network."), wait)
    headers = {"Retry-After": str(wait)}
    return _signup_page(values, {}, next_url, 429, error=message, headers=headers)


# --- password change -------------------------------------------------------------------------
@login_required
async def password_change(request: Request) -> Response:
    """Change one's password; other sessions of the user end, this one stays."""
    auth = auth_of(request)
    if request.method == "GET":
        return render("auth/password_change.html", errors={})
    user = get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    values = await form_values(request, "old_password", "password1", "password2")
    errors = required(values, "old_password", "password1", "password2")
    if values["old_password"] and not await request.app.run_sync(
        user.check_password, values["old_password"]
    ):
        errors["old_password"] = [_("That is not your current password.")]
    check_new_password(auth, values, user, errors)
    if errors:
        return render("auth/password_change.html", status=422, errors=errors)
    await set_new_password(request, user, values["password1"])
    await auth.apassword_changed(user, keep=request)  # this session stays, tokens go
    flash(request, _("Your password was changed. Other devices were signed out."), "success")
    return RedirectResponse(request.url_for("auth.password_change"), 303)


def make_group(auth: Auth) -> Group:
    """The ``auth`` route group of one ``Auth`` (each app gets its own)."""
    from kettle.auth import (
        account,
        account_tokens,
        everywhere,
        factors,
        reauth,
        reset,
        time_zone,
        verification,
    )

    group = Group("auth", prefix=auth.options.prefix, root=TEMPLATES.parent, templates=None)
    group.route("/login", ("GET", "POST"), name="login")(login)
    group.post("/logout", name="logout")(logout)
    group.route("/signup", ("GET", "POST"), name="signup")(signup)
    group.route("/password", ("GET", "POST"), name="password_change")(password_change)
    group.get("/2fa", name="second_factor")(factors.challenge)
    account.add_routes(group)
    reauth.add_routes(group)
    reset.add_routes(group)
    everywhere.add_routes(group)
    account_tokens.add_routes(group)
    verification.add_routes(group)
    time_zone.add_routes(group)
    return group


__all__ = ["INVALID_LOGIN", "auth_of", "make_group", "normalize_username", "safe_next"]
