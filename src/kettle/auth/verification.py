"""E-mail verification: an address counts once its owner follows a link mailed to it.

``AuthOptions(email_verification=...)`` chooses what sign-up asks for:

- ``"optional"`` (the default, as in django-allauth): the new account is signed in at
  once and mailed a link; pages show a banner until it is followed;
- ``"mandatory"``: the e-mail address is required and the account cannot sign in until
  the link is followed (the login page says so and offers a new link);
- ``"none"``: no mail; ``email_verified`` stays as it is.

Changing the address (``/auth/email``, password required) mails a link to the *new*
address and a notice to the old one; the address changes only when that link is followed
(in ``"none"`` mode it changes at once, unverified). Links are signed, expire after
``AuthOptions.email_verification_max_age`` seconds and work once: they sign the account's
address and verified flag, which following the link changes. Following one shows a
confirm button; the POST verifies, so a mail scanner fetching the link consumes nothing::

    GET  /auth/email/verify/<token>   -> a page with a "Confirm" button
    POST /auth/email/verify/<token>   -> 303 to the login page (or home, if signed in)

An address another account has already verified is refused (409). Requests for a new
link (``/auth/email/verify``) answer the same page for any address and are throttled
like password-reset requests. With ``kettle.tasks`` on the app, the mail is sent by the
task ``kettle.auth.send_verification_mail``, which makes the link when it runs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kettle.auth._render import render, render_text
from kettle.auth.core import get_api_token, get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.reset import site_url
from kettle.auth.throttling import ResetThrottle, _digest
from kettle.auth.views import (
    Errors,
    auth_of,
    client_host,
    email_taken,
    form_values,
    required,
    try_again,
)
from kettle.db.fields import FieldValidationError, validate_email
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.mail import EmailMessage
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash
from kettle.tasks import current, task

if TYPE_CHECKING:
    from kettle.auth.core import Auth
    from kettle.scaffold import Group

Mode = Literal["none", "optional", "mandatory"]
#: Why a link does not work: ``expired``, ``invalid`` (damaged or forged) or ``used``.
Problem = Literal["expired", "invalid", "used"]
#: What the 400 page says for each ``Problem``.
PROBLEMS: dict[str, str] = {
    "expired": N_("This link has expired. Ask for a new one below."),
    "invalid": N_(
        "This link is damaged or was not made by this site. Copy the whole link "
        "from the e-mail, or ask for a new one below."
    ),
    "used": N_(
        "This link was already used, or the account's address changed since it was "
        "sent. Ask for a new one below if the address is still not verified."
    ),
}
TAKEN = N_("Another account already uses this address. Use another one.")
#: The longest address the pages accept (the e-mail field's length, RFC 5321's limit).
MAX_EMAIL_LENGTH = 254
#: Why an account with ``mandatory`` verification and an unverified address is not
#: signed in (the 403 page, and the passkey script's message).
VERIFY_FIRST = N_(
    "Verify your e-mail address first: follow the link we mailed you. "
    "No mail? Ask for a new link below."
)


class VerificationTokens:
    """Signed links for one address of one account; nothing is stored::

    tokens = VerificationTokens(secret_key, max_age=3 * 86400)
    token = tokens.make(ann, "ann@example.org")
    tokens.read(token)             # (ann.id, "ann@example.org"), or a Problem
    tokens.check(token, ann)       # True until ann's address or verified flag changes
    """

    def __init__(
        self, secret_key: str, fallbacks: Sequence[str] = (), max_age: int = 86400
    ) -> None:
        self._keys = [secret_key, *fallbacks]
        self._serializer = URLSafeTimedSerializer(
            [*fallbacks, secret_key], salt="kettle.auth.email-verification"
        )
        self.max_age = max_age

    def _fingerprint(self, user: AbstractUser, email: str, key: str) -> str:
        state = f"{user.id}\0{user.email}\0{bool(user.email_verified)}\0{email}"
        return hmac.new(key.encode(), state.encode(), hashlib.sha256).hexdigest()[:32]

    def make(self, user: AbstractUser, email: str) -> str:
        """A link token to verify ``email`` for ``user`` as the account is now."""
        return self._serializer.dumps(
            [user.id, email, self._fingerprint(user, email, self._keys[0])]
        )

    def read(self, token: str) -> tuple[int, str] | Problem:
        """The account id and address the token names, or why it cannot be used."""
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            return "expired"
        except BadSignature:
            return "invalid"
        if not (isinstance(payload, list) and len(payload) == 3):
            return "invalid"
        user_id, email, _ = payload
        if not isinstance(user_id, int) or not isinstance(email, str):
            return "invalid"
        return user_id, email

    def check(self, token: str, user: AbstractUser) -> bool:
        """Whether the token still fits ``user`` (False once it was used)."""
        try:
            _, email, given = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return False
        return any(
            hmac.compare_digest(str(given), self._fingerprint(user, str(email), key))
            for key in self._keys
        )


class VerifyThrottle(ResetThrottle):
    """Requests for a verification link, limited per address and client as reset links
    are (``AuthOptions.max_resets_per_*``), with counters of their own."""

    def _limits(self, email: str, address: str | None) -> list[tuple[str, int]]:
        return [
            ("verify:email:" + _digest(email.strip().casefold()), self.max_per_email),
            ("verify:address:" + _digest(address or "unknown"), self.max_per_address),
        ]


def mode(auth: Auth) -> Mode:
    """The site's ``AuthOptions.email_verification``: ``mode(auth) == "mandatory"``."""
    return auth.options.email_verification


def tokens_of(auth: Auth) -> VerificationTokens:
    """The verification tokens of ``auth``, signed with the app's secret keys."""
    made: VerificationTokens | None = getattr(auth.app.state, "auth_verification_tokens", None)
    if made is None:
        auth.app.build()
        settings = auth.app.settings
        max_age = auth.options.email_verification_max_age
        made = VerificationTokens(settings.secret_key, settings.secret_key_fallbacks, max_age)
        auth.app.state.auth_verification_tokens = made
    return made


def _throttle(auth: Auth) -> VerifyThrottle:
    made: VerifyThrottle | None = getattr(auth.app.state, "auth_verify_throttle", None)
    if made is None:
        made = VerifyThrottle(
            auth.throttle.store,
            max_per_email=auth.options.max_resets_per_email,
            max_per_address=auth.options.max_resets_per_address,
            window=auth.options.reset_throttle_window,
        )
        auth.app.state.auth_verify_throttle = made
    return made


def needs_verifying(auth: Auth, user: Any) -> bool:
    """Whether ``user`` is signed in with an address still to verify (the banner shows)."""
    return (
        mode(auth) != "none"
        and isinstance(user, AbstractUser)
        and bool(user.email)
        and not user.email_verified
    )


def blocks_login(auth: Auth, user: AbstractUser) -> bool:
    """Whether ``mandatory`` verification keeps ``user`` from signing in: an account with
    an address it has not verified (staff made without an address are not held back)."""
    return mode(auth) == "mandatory" and bool(user.email) and not user.email_verified


# --- mail ------------------------------------------------------------------------------------
def _host(site: str) -> str:
    return site.split("://", 1)[-1].split("/", 1)[0]


def _mail(auth: Auth, name: str, to: str, **context: Any) -> EmailMessage:
    subject = render_text(auth.app, f"auth/mail/{name}_subject.txt", **context)
    body = render_text(auth.app, f"auth/mail/{name}.txt", **context)
    return EmailMessage(subject.strip(), body, to=[to])


def verification_message(auth: Auth, user: AbstractUser, email: str, site: str) -> EmailMessage:
    """The mail with a fresh link that verifies ``email`` for ``user`` (their address, or
    the one they are changing to), under ``site`` (``site_url(request)``)::

        await auth.mail.send([verification_message(auth, ann, ann.email, site)])
    """
    token = tokens_of(auth).make(user, email)
    path = auth.app.url_for("auth.email_verify", token=token)
    days = max(1, round(auth.options.email_verification_max_age / 86400))
    context = {"user": user, "link": site + path, "days": days, "site": _host(site)}
    name = "email_verify" if email == user.email else "email_change"
    return _mail(auth, name, email, **context)


async def verification_messages(
    auth: Auth, email: str, site: str, user_id: int | None = None
) -> list[EmailMessage]:
    """The links to mail for ``email``: with ``user_id``, the link that moves that account
    to ``email``; else one for each active account with that unverified address (none
    for an unknown one). In a unit of work::

        messages = await verification_messages(auth, "ann@example.org", site)
    """
    query = auth.user_model.objects.filter(is_active=True)
    if user_id is not None:
        users = [user async for user in query.filter(id=user_id)]
    else:
        users = [u async for u in query.filter(email__iexact=email, email_verified=False)]
        email = ""
    return [verification_message(auth, user, email or user.email, site) for user in users]


@task(name="kettle.auth.send_verification_mail", retries=3, backoff=30)
async def send_verification_mail(email: str, site: str, user_id: int | None = None) -> None:
    """Mail verification links, made now (``verification_messages``); queued by the
    pages when the app has ``kettle.tasks``."""
    app = current().app
    if app is None:
        raise RuntimeError("send_verification_mail runs in the worker of an app with Auth")
    auth: Auth = app.state.auth
    async with auth.db.async_session():
        messages = await verification_messages(auth, email, site, user_id)
    if messages:
        await auth.mail.send(messages)


async def send_links(request: Request, email: str, user_id: int | None = None) -> None:
    """Send the links for ``email`` (see ``verification_messages``): through the task when
    the app has kettle.tasks (it is sent when the request's unit of work commits), else
    now. The same work for any address when the app has tasks."""
    auth, site = auth_of(request), site_url(request)
    if getattr(request.app.state, "tasks", None) is not None:
        await send_verification_mail.aenqueue(email, site, user_id)
        return
    messages = await verification_messages(auth, email, site, user_id)
    if messages:
        await auth.mail.send(messages)


# --- the pages -------------------------------------------------------------------------------
def _invalid(problem: Problem) -> Response:
    return render("auth/email_verify_invalid.html", status=400, problem=_(PROBLEMS[problem]))


async def _token_user(auth: Auth, token: str) -> tuple[AbstractUser, str] | Problem:
    read = tokens_of(auth).read(token)
    if isinstance(read, str):
        return read
    user_id, email = read
    user: AbstractUser | None = await auth.user_model.objects.filter(
        id=user_id, is_active=True
    ).afirst()
    if user is None or not tokens_of(auth).check(token, user):
        return "used"
    return user, email


async def verify(request: Request, token: str) -> Response:
    """The link in the mail: GET shows the address and a button, POST verifies it."""
    auth = auth_of(request)
    found = await _token_user(auth, token)
    if isinstance(found, str):
        return _invalid(found)
    user, email = found
    signed_in = get_user(request)
    if isinstance(signed_in, AbstractUser) and signed_in.id != user.id:
        return render(
            "auth/email_verify_invalid.html",
            status=403,
            problem=_(
                "This link is for another account, and you are signed in as "
                "%(name)s. Sign out, then follow the link again."
            )
            % {"name": signed_in.username},
        )
    if request.method == "GET":
        return render("auth/email_verify.html", email=email, change=email != user.email)
    await form_values(request)  # the CSRF check
    if await email_taken(auth, user, email):
        return render("auth/email_verify_invalid.html", status=409, problem=_(TAKEN))
    user.email, user.email_verified = email, True
    await user.asave()
    flash(request, _("Your e-mail address %(email)s is verified.") % {"email": email}, "success")
    if isinstance(signed_in, AbstractUser):
        return RedirectResponse(request.link(auth.options.redirect_url), 303)
    return RedirectResponse(request.url_for("auth.login"), 303)


async def resend(request: Request) -> Response:
    """Ask for a new link; every address gets the same answer, throttled alike."""
    auth = auth_of(request)
    user = get_user(request)
    known = user.email if isinstance(user, AbstractUser) else ""
    if request.method == "GET":
        return _resend_page(known)
    values = await form_values(request, "email")
    email = values["email"].strip()
    errors = required({"email": email}, "email") or _address_errors(email)
    if errors or mode(auth) == "none":
        errors = errors or {"email": [_("This site does not verify e-mail addresses.")]}
        return _resend_page(email, errors, status=422)
    wait = await _throttle(auth).attempt(email, client_host(request))
    if wait:
        error = try_again(_("Too many requests for a link."), wait)
        return _resend_page(email, error=error, status=429, headers={"Retry-After": str(wait)})
    await send_links(request, email)
    return render("auth/email_verify_sent.html", email=email)


def _address_errors(email: str) -> Errors:
    """What is wrong with an address no account could have (before anything is queued)."""
    if len(email) > MAX_EMAIL_LENGTH:
        message = _("An e-mail address has at most %(n)d characters.")
        return {"email": [message % {"n": MAX_EMAIL_LENGTH}]}
    try:
        validate_email(email)
    except FieldValidationError as error:
        return {"email": [str(error)]}
    return {}


def _resend_page(
    email: str,
    errors: Errors | None = None,
    *,
    error: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    # NOTE: every variable the template reads, every time (StrictUndefined in development).
    return render(
        "auth/email_verify_resend.html",
        status=status,
        headers=headers,
        values={"email": email},
        errors=errors or {},
        error=error,
    )


def _change_page(values: dict[str, str], errors: Errors, status: int = 200) -> Response:
    return render("auth/email_change.html", status=status, values=values, errors=errors)


@login_required
async def change(request: Request) -> Response:
    """Change one's address: with the password, a link to the new one and a notice to
    the old one; the address changes when the link is followed."""
    auth, user = auth_of(request), get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    if get_api_token(request) is not None:
        raise HTTPException(403, _("Change your e-mail address from a browser session."))
    if request.method == "GET":
        return _change_page({"email": ""}, {})
    values = await form_values(request, "email", "password")
    email = values["email"] = values["email"].strip()
    errors = required(values, "email", "password")
    if email:
        try:
            validate_email(email)
        except FieldValidationError as error:
            errors["email"] = [str(error)]
    if "email" not in errors and email.casefold() == user.email.casefold():
        errors["email"] = [_("This is already your address.")]
    if values["password"] and not await request.app.run_sync(
        user.check_password, values["password"]
    ):
        errors["password"] = [_("That is not your current password.")]
    if not errors and await email_taken(auth, user, email):
        errors["email"] = [_(TAKEN)]
    if not errors:
        wait = await _throttle(auth).attempt(email, client_host(request))
        if wait:
            errors["email"] = [try_again(_("Too many requests for a link."), wait)]
            return _change_page(values, errors, 429)
    if errors:
        return _change_page(values, errors, 422)
    if mode(auth) == "none":
        user.email, user.email_verified = email, False
        await user.asave()
        flash(request, _("Your e-mail address is now %(email)s.") % {"email": email}, "success")
        return RedirectResponse(request.url_for("auth.email_change"), 303)
    await send_links(request, email, user.id)
    if user.email:
        site = site_url(request)
        notice = _mail(
            auth, "email_change_notice", user.email, user=user, new=email, site=_host(site)
        )
        await auth.mail.send([notice])
    flash(
        request,
        _("We sent a link to %(email)s. Your address changes when you follow it.")
        % {"email": email},
        "success",
    )
    return RedirectResponse(request.url_for("auth.email_change"), 303)


# --- sign-up and login -----------------------------------------------------------------------
def signup_problems(auth: Auth, email: str) -> Errors:
    """The sign-up form's errors about verification: ``mandatory`` needs an address."""
    if mode(auth) == "mandatory" and not email:
        return {"email": [_("Enter your e-mail address: we mail you a link to confirm it.")]}
    return {}


async def after_signup(request: Request, user: AbstractUser) -> Response | None:
    """What sign-up does for verification once the account is saved: send the link;
    with ``mandatory``, the "check your e-mail" page (the account is not signed in)."""
    auth = auth_of(request)
    if mode(auth) == "none" or not user.email:
        return None
    await send_links(request, user.email)
    if mode(auth) == "mandatory":
        return render("auth/email_verify_sent.html", email=user.email)
    message = _("We sent a link to %(email)s: follow it to verify your address.")
    flash(request, message % {"email": user.email})
    return None


def login_refused(request: Request, user: AbstractUser) -> Response:
    """The page of an account that must verify its address before it signs in (403),
    whatever the way in: ``auth.complete_sign_in`` answers it."""
    return _resend_page(user.email, error=_(VERIFY_FIRST), status=403)


def add_routes(group: Group) -> None:
    """Add the verification and change-of-address pages to the auth group."""
    group.route("/email", ("GET", "POST"), name="email_change")(change)
    group.route("/email/verify", ("GET", "POST"), name="email_verify_resend")(resend)
    group.route("/email/verify/<token>", ("GET", "POST"), name="email_verify")(verify)


__all__ = [
    "PROBLEMS",
    "VERIFY_FIRST",
    "VerificationTokens",
    "VerifyThrottle",
    "add_routes",
    "after_signup",
    "blocks_login",
    "login_refused",
    "needs_verifying",
    "send_links",
    "send_verification_mail",
    "signup_problems",
    "verification_message",
    "verification_messages",
]
