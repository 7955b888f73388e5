"""The pages of sign-in providers: start a flow, the callback, and the linked accounts.

Route names (``url_for``): ``oidc.start`` (``POST <prefix>/oidc/<provider>/start``, a form
with the CSRF token, so another site cannot start a sign-in in your browser),
``oidc.callback`` (where the provider sends the browser back), ``oidc.identities`` (the
account page's list of linked providers) and ``oidc.unlink``. A callback that cannot be
trusted (an unknown or replayed ``state``, an error from the provider, a code the
provider refuses, an ID token that does not check out) is a 400 page that says why, and
signs nobody in::

    client.post("/auth/oidc/github/start", data={"csrf_token": token, "next": "/"})
    # 303 to GitHub, which sends the browser back to /auth/oidc/github/callback?code=...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kettle.auth._render import TEMPLATES, render
from kettle.auth.core import get_user
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.oidc import flow as flows
from kettle.auth.oidc.accounts import complete, refused
from kettle.auth.oidc.idtoken import SignInError
from kettle.auth.oidc.providers import Provider
from kettle.auth.views import form_values, safe_next
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.scaffold import Group
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.oidc.core import Providers


def oidc_of(request: Request) -> Providers:
    """The ``Providers`` of the request's app."""
    oidc: Providers = request.app.state.oidc
    return oidc


def _provider(oidc: Providers, name: str) -> Provider:
    provider = oidc.get(name)
    if provider is None:
        known = ", ".join(oidc.providers) or _("none")
        message = _("No sign-in provider is named %(name)s here (known: %(known)s).")
        raise HTTPException(404, message % {"name": repr(name), "known": known})
    return provider


async def start(request: Request, provider: str) -> Response:
    """Start signing in (or linking, ``purpose=link``) with ``provider``: a 303 to it."""
    oidc = oidc_of(request)
    chosen = _provider(oidc, provider)
    values = await form_values(request, "next", "purpose")
    purpose = values["purpose"] or "login"
    user = get_user(request)
    if purpose == "link":
        if not isinstance(user, AbstractUser):
            login = request.url_for("auth.login")
            return RedirectResponse(f"{login}?next={request.url_for('oidc.identities')}", 303)
        default = request.url_for("oidc.identities")
    elif purpose == "login":
        default = request.link(oidc.auth.options.redirect_url)
    else:
        message = _("purpose must be 'login' or 'link', not %(purpose)s.")
        raise HTTPException(400, message % {"purpose": repr(purpose[:40])})
    try:
        url = await flows.begin(
            request,
            chosen,
            oidc.redirect_uri(request, chosen),
            purpose="link" if purpose == "link" else "login",
            next_url=safe_next(values["next"], default),
            user_id=user.id if isinstance(user, AbstractUser) else None,
        )
    except SignInError as error:
        title = _("%(provider)s cannot be reached") % {"provider": chosen.title}
        return refused(title, str(error), status=502)
    return RedirectResponse(url, 303)


async def callback(request: Request, provider: str) -> Response:
    """Where the provider sends the browser back: check everything, then sign in."""
    oidc = oidc_of(request)
    chosen = _provider(oidc, provider)
    query = request.query
    flow = flows.take(request, query.get("state") or "")
    if flow is None or flow.provider != chosen.name:
        return refused(
            _("This sign-in link is not valid"),
            _(
                "It was used already, has expired, or was not started in this browser. Go "
                "back to the sign-in page and choose %(provider)s again."
            )
            % {"provider": chosen.title},
            login=True,
        )
    if query.get("error"):
        return refused(
            _("%(provider)s did not sign you in") % {"provider": chosen.title},
            _("%(provider)s answered: %(error)s. Nothing was changed here; you may try again.")
            % {"provider": chosen.title, "error": flows.describe_error(query)},
            login=True,
        )
    code = query.get("code") or ""
    if not code:
        return refused(_("This sign-in link is not valid"), _("It carries no code."), login=True)
    try:
        assertion = await flows.finish(chosen, flow, code, oidc.redirect_uri(request, chosen))
    except SignInError as error:
        title = _("%(provider)s sign-in refused") % {"provider": chosen.title}
        return refused(title, str(error), login=True)
    return await complete(request, oidc, chosen, flow, assertion)


# --- the account page's section ------------------------------------------------------------------
async def _identities_page(
    request: Request, user: AbstractUser, *, error: str = "", status: int = 200
) -> Response:
    oidc = oidc_of(request)
    query = oidc.identity_model.objects.filter(user_id=user.id).order_by("provider", "id")
    linked = await query.alist()
    titles = {p.name: p.title for p in oidc}
    return render(
        "auth/identities.html",
        status=status,
        identities=[
            (identity, titles.get(identity.provider, identity.provider)) for identity in linked
        ],
        providers=list(oidc),
        error=error,
        has_password=user.has_usable_password(),
    )


@login_required
async def identities(request: Request) -> Response:
    """The signed-in user's linked providers, with buttons to link and unlink."""
    user = get_user(request)
    assert isinstance(user, AbstractUser)  # login_required let only users through
    return await _identities_page(request, user)


@login_required
async def unlink(request: Request, id: int) -> Response:
    """Unlink one of the user's providers, unless nothing else would let them sign in
    (``auth.aways_in``: a usable password, another provider, a passkey)."""
    user = get_user(request)
    assert isinstance(user, AbstractUser)
    await form_values(request)  # the CSRF check
    model = oidc_of(request).identity_model
    identity = await model.objects.filter(id=id, user_id=user.id).afirst()
    if identity is None:
        message = _("You have no linked sign-in provider with id %(id)s.")
        raise HTTPException(404, message % {"id": id})
    if await oidc_of(request).auth.ais_last_way_in(user, f"identity:{identity.id}"):
        error = _(
            "This is your only way to sign in, so it stays linked. Set a password first "
            "(“Forgot your password?” on the sign-in page mails you a link), add a "
            "passkey or link another provider, then unlink this one."
        )
        return await _identities_page(request, user, error=error, status=409)
    await identity.adelete()
    chosen = oidc_of(request).get(identity.provider)
    title = chosen.title if chosen is not None else identity.provider
    done = _("%(provider)s was unlinked from your account.") % {"provider": title}
    flash(request, done, "success")
    return RedirectResponse(request.url_for("oidc.identities"), 303)


def make_group(oidc: Providers) -> Group:
    """The ``oidc`` route group, under the auth pages' prefix."""
    prefix = oidc.auth.options.prefix
    group = Group("oidc", prefix=prefix, root=TEMPLATES.parent, templates=None)
    group.post("/oidc/<provider>/start", name="start")(start)
    group.get("/oidc/<provider>/callback", name="callback")(callback)
    group.get("/identities", name="identities")(identities)
    group.post("/identities/<int:id>/unlink", name="unlink")(unlink)
    return group


__all__ = ["callback", "identities", "make_group", "oidc_of", "start", "unlink"]
