"""The account page, ``{prefix}/account`` (route name ``auth.account``): one list of
every page where a signed-in user looks after their account.

Auth starts the list with the pages it serves itself (password, API tokens, e-mail
address, time zone); each battery adds its own entry when it is installed (two-factor
authentication, passkeys, linked accounts), and a project may add more::

    auth.add_account_link(AccountLink("Newsletters", "newsletters.settings",
                                      "Which letters we send you."))

Every auth page links here from its layout (``templates/auth/base.html``) once someone
is signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request
from kettle.responses.base import Response

if TYPE_CHECKING:
    from kettle.scaffold import Group


@dataclass(frozen=True)
class AccountLink:
    """One entry of the account page: what it is called, the route it opens (a name for
    ``url_for``) and one line that says what is there::

        AccountLink("Time zone", "auth.time_zone", "Which time zone dates are shown in.")
    """

    #: What the entry is called ("Time zone").
    label: str
    #: The route it opens, a name for ``url_for`` ("auth.time_zone").
    route: str
    #: One line under it that says what is there.
    description: str = ""


def default_links() -> list[AccountLink]:
    """The entries of the pages Auth serves itself, in the order the account page shows
    them."""
    return [
        AccountLink(
            N_("Password"), "auth.password_change", N_("Change the password you sign in with.")
        ),
        AccountLink(N_("API tokens"), "auth.tokens", N_("Keys that let scripts act as you.")),
        AccountLink(N_("E-mail address"), "auth.email_change", N_("Where we send your mail.")),
        AccountLink(N_("Time zone"), "auth.time_zone", N_("The time zone dates are shown in.")),
    ]


async def account(request: Request) -> Response:
    """The signed-in user's account page: every entry of ``auth.account_links``."""
    from kettle.auth._render import render
    from kettle.auth.views import auth_of

    # The labels are marked with N_ where they are made, and translated here per request.
    links = [
        {
            "label": _(link.label),
            "url": request.url_for(link.route),
            "description": _(link.description) if link.description else "",
        }
        for link in auth_of(request).account_links
    ]
    return render("auth/account.html", links=links)


def add_routes(group: Group) -> None:
    """Add the account page to the auth group."""
    from kettle.auth.guards import login_required  # NOTE: guards import core, which imports us

    group.get("/account", name="account")(login_required(account))


__all__ = ["AccountLink", "account", "add_routes", "default_links"]
