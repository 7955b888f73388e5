"""Password reset by e-mail: ask for a link, follow it, choose a new password.

``/auth/password/reset`` answers the same page whether or not the address belongs to an
account, so it tells nobody who has one. Requests for a link are throttled per e-mail
address and per client address (``ResetThrottle``; ``AuthOptions.max_resets_per_*``):
over a limit the form comes back with 429 and ``Retry-After``, for every address alike.

The link carries a signed token (``ResetTokens``) that expires and works once; following
it moves the token into the session and redirects, so the token leaves the address bar
(and Referer headers)::

    GET  /auth/password/reset/<token>   -> 303 /auth/password/reset/confirm
    POST /auth/password/reset/confirm   -> 303 /auth/login

Those two need no throttle: a token is an HMAC under the secret key, so guessing one is
hopeless, and the confirm page works only with a token the link put in the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle.auth._render import render, render_text
from kettle.auth.models import AbstractUser
from kettle.auth.views import (
    auth_of,
    check_new_password,
    client_host,
    email_taken,
    form_values,
    required,
    set_new_password,
    try_again,
)
from kettle.i18n._gettext import gettext as _
from kettle.mail import EmailMessage
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.core import Auth
    from kettle.scaffold import Group

#: The session key that holds a password-reset token between following the e-mailed
#: link and choosing the new password, so the token leaves the URL (and the browser's
#: history and ``Referer`` headers); removed once the password is set.
SESSION_TOKEN = "_auth_reset_token"


async def reset_request(request: Request) -> Response:
    """Ask for a reset link; every address gets the same answer, throttled alike."""
    auth = auth_of(request)
    if request.method == "GET":
        return _request_page("")
    values = await form_values(request, "email")
    email = values["email"] = values["email"].strip()
    errors = required(values, "email")  # blank: it would match the accounts with no e-mail
    if errors:
        return _request_page(email, errors=errors, status=422)
    # NOTE: counted before the query, whoever has the address: a 429 tells nothing either.
    wait = await auth.reset_throttle.attempt(email, client_host(request))
    if wait:
        error = try_again(_("Too many requests for a reset link."), wait)
        return _request_page(email, error, status=429, headers={"Retry-After": str(wait)})
    if auth.reset_sender is not None:
        # NOTE: for every address and before any query, so the page does the same work
        # whether the address has an account or not (a task finds the accounts).
        await auth.reset_sender(request, email)
    else:
        messages = await reset_messages(auth, email, site_url(request))
        if messages:
            await auth.mail.send(messages)
    return render("auth/password_reset_sent.html", email=email)


def _request_page(
    email: str,
    error: str = "",
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    # NOTE: every variable the template reads, every time: development renders with
    # StrictUndefined, where a missing one is a 500.
    return render(
        "auth/password_reset.html",
        status=status,
        headers=headers,
        values={"email": email},
        errors=errors or {},
        error=error,
    )


def site_url(request: Request) -> str:
    """The site's address as the client reached it, for links in mail::

    site_url(request)   # "https://news.example.org" (plus the app's root path, if any)
    """
    return f"{request.scheme}://{request.host}{request.scope.get('root_path', '')}"


def password_reset_message(auth: Auth, user: AbstractUser, site: str) -> EmailMessage:
    """The password-reset mail for ``user``, with a fresh link under ``site`` (what
    ``site_url(request)`` gave): for an ``on_password_reset`` hook that sends it later::

        mail = password_reset_message(auth, user, "https://news.example.org")
        await auth.mail.send([mail])
    """
    token = auth.reset_tokens.make(user)
    path = auth.app.url_for("auth.password_reset_token", token=token)
    minutes = auth.options.reset_max_age // 60
    host = site.split("://", 1)[-1].split("/", 1)[0]
    context = {"user": user, "link": site + path, "minutes": minutes, "site": host}
    subject = render_text(auth.app, "auth/mail/password_reset_subject.txt", **context)
    body = render_text(auth.app, "auth/mail/password_reset.txt", **context)
    return EmailMessage(subject.strip(), body, to=[user.email])


async def reset_messages(auth: Auth, email: str, site: str) -> list[EmailMessage]:
    """The password-reset mail for each active account of ``email`` that has a usable
    password, with fresh links under ``site``; none for an unknown address. For a task
    queued by an ``on_password_reset`` hook (in a unit of work)::

        messages = await reset_messages(auth, "ann@example.org", "https://news.example.org")
        if messages:
            await auth.mail.send(messages)
    """
    users = auth.user_model.objects.filter(email__iexact=email, is_active=True)
    return [
        password_reset_message(auth, user, site)
        async for user in users
        if user.has_usable_password()
    ]


async def _user_for(auth: Auth, token: str) -> AbstractUser | None:
    user_id = auth.reset_tokens.user_id(token)
    if user_id is None:
        return None
    query = auth.user_model.objects.filter(id=user_id, is_active=True)
    user: AbstractUser | None = await query.afirst()
    if user is None or not auth.reset_tokens.check(token, user):
        return None
    return user


async def reset_token(request: Request, token: str) -> Response:
    """Follow the e-mailed link: keep the token in the session, drop it from the URL."""
    if await _user_for(auth_of(request), token) is None:
        return render("auth/password_reset_invalid.html", status=400)
    request.session[SESSION_TOKEN] = token
    return RedirectResponse(request.url_for("auth.password_reset_confirm"), 303)


async def reset_confirm(request: Request) -> Response:
    """Choose the new password; the token then stops working. The address the link was
    mailed to counts as verified from then on."""
    auth = auth_of(request)
    token = request.session.get(SESSION_TOKEN)
    user = await _user_for(auth, token) if isinstance(token, str) else None
    if user is None:
        return render("auth/password_reset_invalid.html", status=400)
    if request.method == "GET":
        return render("auth/password_reset_confirm.html", errors={})
    values = await form_values(request, "password1", "password2")
    errors = required(values, "password1", "password2")
    check_new_password(auth, values, user, errors)
    if errors:
        return render("auth/password_reset_confirm.html", status=422, errors=errors)
    if user.email and not user.email_verified and not await email_taken(auth, user, user.email):
        # The link went to ``user.email`` and the token stops working once that changes:
        # following it proves the owner reads the address. Not when another account has
        # verified it (an address is verified for one account at most).
        user.email_verified = True
    await set_new_password(request, user, values["password1"])  # saves the flag too
    await auth.apassword_changed(user)  # its API tokens are revoked
    request.session.pop(SESSION_TOKEN, None)
    flash(request, _("Your password has been set. You can sign in with it now."), "success")
    return RedirectResponse(request.url_for("auth.login"), 303)


def add_routes(group: Group) -> None:
    """Add the reset pages to the auth group."""
    group.route("/password/reset", ("GET", "POST"), name="password_reset")(reset_request)
    group.get("/password/reset/<token>", name="password_reset_token")(reset_token)
    group.route("/password/reset/confirm", ("GET", "POST"), name="password_reset_confirm")(
        reset_confirm
    )


__all__ = ["SESSION_TOKEN", "add_routes", "password_reset_message", "reset_messages", "site_url"]
