"""Asking a signed-in user for their password again before a sensitive change.

A session that signed in within ``RECENT_SECONDS`` (5 minutes) counts as proof enough;
later, the page ``{prefix}/confirm`` (route name ``auth.confirm_password``) asks for the
password, then goes back where it was sent from. Turning two-factor authentication on
uses it, so a session someone else took over cannot lock the owner out with a factor of
its own::

    refused = await reauth.require_recent(request)
    if refused is not None:
        return refused          # 303 to /auth/confirm?next=<this page>
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from kettle.auth._render import render
from kettle.auth.core import SESSION_AUTH_AT, get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.views import auth_of, client_host, form_values, safe_next, try_again
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response

if TYPE_CHECKING:
    from kettle.scaffold import Group

#: How long a sign-in or a typed password counts as recent, in seconds.
RECENT_SECONDS = 5 * 60
#: What the confirm page says to a user who has no password to type.
NO_PASSWORD = N_(
    "Your account has no password to confirm. Sign out and sign in again (with a passkey "
    "or a linked account), then come back within 5 minutes."
)


def mark(request: Request) -> None:
    """Note in the session that its user proved who they are just now (``Auth`` does it
    at every sign-in)."""
    request.session[SESSION_AUTH_AT] = int(time.time())


def is_recent(request: Request, seconds: int | None = None) -> bool:
    """Whether the session's user signed in, or typed their password, within ``seconds``
    (``RECENT_SECONDS`` by default)::

    if not reauth.is_recent(request): ...
    """
    if request.session_data is None:
        return False
    at = request.session.get(SESSION_AUTH_AT)
    limit = RECENT_SECONDS if seconds is None else seconds
    return isinstance(at, int) and 0 <= time.time() - at <= limit


async def require_recent(request: Request) -> Response | None:
    """None when the sign-in is recent (``is_recent``); else the 303 to the confirm page,
    which comes back to this request's page (its query string kept). Under a mount or a
    proxy's root path both addresses carry that prefix, as the browser must ask for them."""
    if is_recent(request):
        return None
    asked = request.scope.get("query_string", b"").decode("latin-1")
    here = request.root_path + request.path + ("?" + asked if asked else "")
    confirm_url = request.url_for("auth.confirm_password")
    query = urlencode({"next": here}, safe="/", quote_via=quote)
    return RedirectResponse(f"{confirm_url}?{query}", 303)


def _page(next_url: str, error: str = "", status: int = 200, wait: int = 0) -> Response:
    return render(
        "auth/confirm_password.html",
        status=status,
        headers={"Retry-After": str(wait)} if wait else None,
        next=next_url,
        error=error,
    )


@login_required
async def confirm(request: Request) -> Response:
    """Type the password again; then back to ``?next=``. Wrong passwords count against
    the login throttle (429 once it is exhausted)."""
    auth, user = auth_of(request), get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    default = request.url_for("auth.account")
    if request.method == "GET":
        return _page(safe_next(request.query.get("next"), default))
    values = await form_values(request, "password", "next")
    next_url = safe_next(values["next"], default)
    if not user.has_usable_password():
        return _page(next_url, _(NO_PASSWORD), 409)
    address = client_host(request)
    wait = await auth.throttle.blocked(user.username, address)
    if wait:
        return _page(next_url, try_again(_("Too many wrong passwords."), wait), 429, wait)
    if not values["password"]:
        return _page(next_url, _("Type your password."), 422)
    if not await request.app.run_sync(user.check_password, values["password"]):
        await auth.throttle.failed(user.username, address)
        return _page(next_url, _("That is not your current password."), 422)
    mark(request)
    return RedirectResponse(next_url, 303)


def add_routes(group: Group) -> None:
    """Add the confirm page to the auth group."""
    group.route("/confirm", ("GET", "POST"), name="confirm_password")(confirm)


__all__ = ["NO_PASSWORD", "RECENT_SECONDS", "SESSION_AUTH_AT", "add_routes", "is_recent", "mark"]
