"""``POST /auth/logout-everywhere``: the "Sign out everywhere else" button.

It sits on the password page when the app keeps sessions on the server (the default
with kettle.auth): every other session of the user ends, this one stays signed in under
a new id. With signed cookies there is nothing to delete, and the page answers 404::

    client.post("/auth/logout-everywhere", data={"csrf_token": token})   # 303
"""

from __future__ import annotations

from kettle.auth.guards import login_required
from kettle.auth.views import auth_of
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import ngettext
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.scaffold import Group
from kettle.sessions import flash


@login_required
async def logout_everywhere(request: Request) -> Response:
    """End the user's other sessions (POST, with the CSRF token), back to the password page."""
    auth = auth_of(request)
    if auth.session_store is None:
        raise HTTPException(
            404,
            _(
                "Signing out everywhere needs sessions kept on the server; this site keeps "
                "them in signed cookies. Change your password to end your other sessions."
            ),
        )
    ended = await auth.alogout_everywhere(request)
    message = ngettext(
        "You were signed out on every other device (%(num)d other session ended).",
        "You were signed out on every other device (%(num)d other sessions ended).",
        ended,
    )
    flash(request, message % {"num": ended}, "success")
    return RedirectResponse(request.url_for("auth.password_change"), 303)


def add_routes(group: Group) -> None:
    """Add ``auth.logout_everywhere`` to the auth group."""
    group.post("/logout-everywhere", name="logout_everywhere")(logout_everywhere)


__all__ = ["add_routes", "logout_everywhere"]
