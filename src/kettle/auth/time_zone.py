"""The account's time zone page: ``/auth/time-zone`` (route name ``auth.time_zone``).

A select of every IANA zone, plus "automatic" (empty: the browser's zone, else the
site's; see ``kettle.timezones``). The admin and the ``localtime`` filter show datetimes
in the chosen zone::

    client.post("/auth/time-zone", data={"time_zone": "Europe/Paris", "csrf_token": token})
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle import timezones
from kettle.auth._render import render
from kettle.auth.core import get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.views import form_values
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.scaffold import Group


def _page(request: Request, chosen: str, error: str = "", status: int = 200) -> Response:
    return render(
        "auth/time_zone.html",
        status=status,
        chosen=chosen,
        error=error,
        zones=timezones.zone_names(),
        shown=timezones.zone_for(request).key,
    )


@login_required
async def time_zone(request: Request) -> Response:
    """Show and set the signed-in user's ``time_zone``."""
    user = get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    if request.method == "GET":
        return _page(request, user.time_zone)
    chosen = (await form_values(request, "time_zone"))["time_zone"].strip()
    if chosen and timezones.get_zone(chosen) is None:
        error = _("%(zone)r is not a time zone: choose one from the list.") % {"zone": chosen[:64]}
        return _page(request, "", error, 422)
    user.time_zone = chosen
    await user.asave()
    if chosen:
        message = _("Times are now shown in %(zone)s.") % {"zone": chosen}
    else:
        message = _("Times are now shown in the time zone of your browser.")
    flash(request, message, "success")
    return RedirectResponse(request.url_for("auth.time_zone"), 303)


def add_routes(group: Group) -> None:
    """Add the time zone page to the auth group."""
    group.route("/time-zone", ("GET", "POST"), name="time_zone")(time_zone)


__all__ = ["add_routes", "time_zone"]
