"""The owner's API-token page: list one's tokens, create one (shown once), revoke one.

Route names (``url_for``): ``auth.tokens`` (``GET`` lists the signed-in user's tokens
with their prefix, creation, last use, expiry and state; ``POST`` creates one with a
name and a lifetime and shows the raw token once) and ``auth.token_revoke`` (``POST
/auth/tokens/<id>/revoke``). Every form carries the CSRF token; another user's token
is a 404. The page wants a browser session: a request signed in with an API token gets
a 403, so a leaked token cannot mint new ones::

    client.post("/auth/tokens", data={"name": "deploy script", "lifetime": "30",
                                      "csrf_token": token})   # 201, the token once
    client.post("/auth/tokens/7/revoke", data={"csrf_token": token})   # 303 back
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import TYPE_CHECKING, Any

from kettle.auth._render import render
from kettle.auth.core import get_api_token, get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractApiToken, AbstractUser
from kettle.auth.views import Errors, auth_of, form_values
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.core import Auth
    from kettle.scaffold import Group

#: The lifetimes the page offers, in days (those up to ``AuthOptions.token_max_lifetime``).
LIFETIME_DAYS = (7, 30, 90, 365)
#: The longest token name the account page and the API accept (the column holds 100).
NAME_LENGTH = 100


def lifetime_choices(auth: Auth) -> list[int]:
    """The lifetimes (days) the page offers under ``auth``'s longest one::

    lifetime_choices(auth)   # [7, 30, 90, 365]
    """
    longest = auth.options.token_max_lifetime
    offered = [days for days in LIFETIME_DAYS if dt.timedelta(days=days) <= longest]
    return offered or [max(1, longest.days)]


def name_problem(name: str) -> str | None:
    """What is wrong with a token's name (None: nothing); the pages and APIs that issue
    tokens check names with it::

        name_problem("deploy\x00script")   # "Use printable characters only: no control ..."
    """
    if not name:
        return gettext("This field is required.")
    if len(name) > NAME_LENGTH:
        return gettext("Use at most %(count)d characters.") % {"count": NAME_LENGTH}
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        return gettext("Use printable characters only: no control characters or line breaks.")
    return None


def _default_days(auth: Auth, choices: list[int]) -> int:
    lifetime = auth.options.token_lifetime
    if lifetime is not None and lifetime.days in choices:
        return lifetime.days
    return 30 if 30 in choices else choices[0]


def _moment(value: dt.datetime | None, never: str) -> str:
    if value is None:
        return never
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def token_row(token: AbstractApiToken) -> dict[str, Any]:
    """What the page shows of a token (never its hash)::

    token_row(token)["last_used"]   # "2026-01-31 14:05 UTC" or "never"
    """
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created": _moment(token.created, ""),
        "last_used": _moment(token.last_used, gettext("never")),
        "expires": _moment(token.expires, gettext("never")),
        "revoked": _moment(token.revoked, ""),
        "state": token.state,
    }


def _owner(request: Request) -> AbstractUser:
    """The signed-in user, if signed in with a session (not an API token)."""
    if get_api_token(request) is not None:
        raise HTTPException(
            403,
            gettext(
                "The token page needs a signed-in browser session, not an API token: sign in "
                "at the login page to list, create or revoke tokens."
            ),
        )
    user = get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    return user


async def _page(
    request: Request,
    user: AbstractUser,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    raw: str = "",
    status: int = 200,
) -> Response:
    auth = auth_of(request)
    query = auth.token_model.objects.filter(user_id=user.id).order_by("-created", "-id")
    choices = lifetime_choices(auth)
    shown = values or {"name": "", "lifetime": str(_default_days(auth, choices))}
    return render(
        "auth/tokens.html",
        status=status,
        headers={"Cache-Control": "no-store"},
        tokens=[token_row(token) for token in await query.alist()],
        choices=choices,
        values=shown,
        errors=errors or {},
        raw=raw,
    )


@login_required
async def tokens(request: Request) -> Response:
    """List the user's tokens; a POST creates one and shows it once."""
    user = _owner(request)
    if request.method == "GET":
        return await _page(request, user)
    auth = auth_of(request)
    values = await form_values(request, "name", "lifetime")
    values["name"] = values["name"].strip()
    errors: Errors = {}
    problem = name_problem(values["name"])
    if problem is not None:
        errors["name"] = [problem]
    choices = lifetime_choices(auth)
    days = int(values["lifetime"]) if values["lifetime"].isdecimal() else 0
    if days not in choices:
        offered = ", ".join(str(d) for d in choices)
        message = gettext("Choose one of the lifetimes offered: %(days)s days.")
        errors["lifetime"] = [message % {"days": offered}]
    if errors:
        return await _page(request, user, values=values, errors=errors, status=422)
    lifetime = dt.timedelta(days=days)
    _, raw = await auth.token_model.aissue(user, values["name"], expires_in=lifetime)
    return await _page(request, user, raw=raw, status=201)


@login_required
async def token_revoke(request: Request, id: int) -> Response:
    """Revoke one of the user's tokens (another user's is a 404)."""
    user = _owner(request)
    await form_values(request)  # the CSRF check
    query = auth_of(request).token_model.objects.filter(id=id, user_id=user.id)
    token = await query.afirst()
    if token is None:
        raise HTTPException(404, gettext("You have no API token with id %(id)s.") % {"id": id})
    await token.arevoke()
    flash(request, gettext("The token %(name)s was revoked.") % {"name": token.name}, "success")
    return RedirectResponse(request.url_for("auth.tokens"), 303)


def add_routes(group: Group) -> None:
    """Add the token pages to the auth group."""
    group.route("/tokens", ("GET", "POST"), name="tokens")(tokens)
    group.post("/tokens/<int:id>/revoke", name="token_revoke")(token_revoke)


__all__ = [
    "LIFETIME_DAYS",
    "NAME_LENGTH",
    "add_routes",
    "lifetime_choices",
    "name_problem",
    "token_row",
    "tokens",
]
