"""The passkey pages: the account's list (add, rename, remove) and the second-factor page.

Route names (``url_for``): ``auth.passkeys`` (``GET {prefix}/passkeys``),
``auth.passkey_rename`` and ``auth.passkey_delete`` (``POST .../<id>/rename`` and
``.../<id>/delete``, with the CSRF token; another user's passkey is a 404) and
``auth.passkey_2fa_page`` (``GET {prefix}/2fa/passkey``, for a sign-in waiting on its
second factor). Adding a passkey runs in the page's script (``passkeys.js``), which
talks to the JSON endpoints of ``kettle.auth.passkeys.api``::

    client.post("/auth/passkeys/3/rename", data={"name": "Work laptop", "csrf_token": t})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kettle.auth._render import render
from kettle.auth.account_tokens import _moment as moment
from kettle.auth.account_tokens import name_problem
from kettle.auth.factors import enrolled_factors
from kettle.auth.guards import login_required
from kettle.auth.models import AbstractUser
from kettle.auth.passkeys.api import in_language, owner, passkeys_of
from kettle.auth.passkeys.core import PasskeyFactor
from kettle.auth.passkeys.models import AbstractPasskey
from kettle.auth.views import auth_of, form_values
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import gettext as _
from kettle.requests import Request
from kettle.responses.base import RedirectResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.scaffold import Group


def passkey_row(passkey: AbstractPasskey) -> dict[str, Any]:
    """What the page shows of a passkey (never its key)::

    passkey_row(passkey)["last_used"]   # "2026-01-31 14:05 UTC" or "never" (translated)
    """
    return {
        "id": passkey.id,
        "name": passkey.name,
        "created": moment(passkey.created, ""),
        "last_used": moment(passkey.last_used, _("never")),
        "synced": passkey.synced,
    }


async def _page(
    request: Request, user: AbstractUser, *, error: str = "", status: int = 200
) -> Response:
    model = passkeys_of(request).model
    mine = await model.objects.filter(user_id=user.id).order_by("created", "id").alist()
    return render(
        "auth/passkeys.html",
        status=status,
        headers={"Cache-Control": "no-store"},
        passkeys=[passkey_row(passkey) for passkey in mine],
        error=error,
        limit=passkeys_of(request).options.max_per_user,
        has_password=user.has_usable_password(),
    )


async def _mine(request: Request, user: AbstractUser, id: int) -> AbstractPasskey:
    query = passkeys_of(request).model.objects.filter(id=id, user_id=user.id)
    passkey: AbstractPasskey | None = await query.afirst()
    if passkey is None:
        raise HTTPException(404, _("You have no passkey with id %(id)s.") % {"id": id})
    return passkey


@login_required
async def passkeys_page(request: Request) -> Response:
    """The signed-in user's passkeys, and the button that adds one."""
    return await _page(request, owner(request))


@login_required
async def rename(request: Request, id: int) -> Response:
    """Rename one of the user's passkeys."""
    user = owner(request)
    values = await form_values(request, "name")
    passkey = await _mine(request, user, id)
    name = values["name"].strip()
    problem = name_problem(name)
    if problem is not None:
        return await _page(
            request,
            user,
            error=_("The new name of %(name)s: %(problem)s")
            % {"name": passkey.name, "problem": problem},
            status=422,
        )
    passkey.name = name
    await passkey.asave()
    flash(request, _("The passkey is now called %(name)s.") % {"name": name}, "success")
    return RedirectResponse(request.url_for("auth.passkeys"), 303)


@login_required
async def delete(request: Request, id: int) -> Response:
    """Remove one of the user's passkeys; never the user's last way in (``auth.aways_in``:
    a password, another passkey, a linked account)."""
    user = owner(request)
    await form_values(request)  # the CSRF check
    passkey = await _mine(request, user, id)
    if await auth_of(request).ais_last_way_in(user, f"passkey:{passkey.id}"):
        message = _(
            "%(name)s is your only way to sign in: your account has no password, "
            "and no other passkey or linked account. Set a password, or add another "
            "passkey, first; then remove this one."
        ) % {"name": passkey.name}
        return await _page(request, user, error=message, status=409)
    await passkey.adelete()
    flash(
        request,
        _("The passkey %(name)s was removed. Delete it from the device too.")
        % {"name": passkey.name},
        "success",
    )
    return RedirectResponse(request.url_for("auth.passkeys"), 303)


async def second_factor_page(request: Request) -> Response:
    """The page that asks a pending sign-in for one of the user's passkeys."""
    auth = auth_of(request)
    user = await auth.apending_user(request)
    if user is None:
        flash(request, _("Your sign-in expired or was not started. Sign in again."), "error")
        return RedirectResponse(request.link(auth.login_url), 303)
    others = [f for f in await enrolled_factors(auth, user) if f.name != PasskeyFactor.name]
    prefix = auth.options.prefix
    return render(
        "auth/passkey_second_factor.html",
        headers={"Cache-Control": "no-store"},
        others=[
            {"url": in_language(request, f"{prefix}/2fa/{f.name}"), "label": _(f.label)}
            for f in others
        ],
    )


def add_routes(group: Group) -> None:
    """Add the passkey pages to the auth group."""
    group.get("/passkeys", name="passkeys")(passkeys_page)
    group.post("/passkeys/<int:id>/rename", name="passkey_rename")(rename)
    group.post("/passkeys/<int:id>/delete", name="passkey_delete")(delete)
    group.get("/2fa/passkey", name="passkey_2fa_page")(second_factor_page)


__all__ = ["add_routes", "passkey_row"]
