"""The JSON endpoints the passkey script talks to (all ``POST``, with ``X-CSRF-Token``).

Each ceremony has two: ``.../options`` starts it (the body of
``navigator.credentials.create()`` or ``.get()`` as ``{"publicKey": {...}}``) and the
other checks the authenticator's answer (``{"credential": {...}}``), then answers
``{"redirect": url}``. Refused input is a 400 ``{"detail": "..."}`` that says why::

    POST /auth/passkeys/register/options  {"name": "iPhone", "password": "..."}
    POST /auth/passkeys/register          {"credential": {...}}
    POST /auth/passkeys/login/options     {}
    POST /auth/passkeys/login             {"credential": {...}, "next": "/drafts"}
    POST /auth/2fa/passkey/options        {}                       (after the password)
    POST /auth/2fa/passkey                {"credential": {...}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webauthn import generate_authentication_options, generate_registration_options
from webauthn.helpers import options_to_json_dict
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from kettle import csrf
from kettle.auth.account_tokens import name_problem
from kettle.auth.core import get_api_token, get_user
from kettle.auth.models import AbstractUser
from kettle.auth.passkeys import ceremony
from kettle.auth.passkeys.ceremony import CHALLENGE_SECONDS, PasskeyError
from kettle.auth.passkeys.models import AbstractPasskey, credential_key
from kettle.auth.verification import VERIFY_FIRST
from kettle.auth.views import auth_of, client_host, safe_next, try_again
from kettle.db import fields
from kettle.exceptions import HTTPException
from kettle.i18n._gettext import active, ngettext
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request, decode_json
from kettle.responses.base import JSONResponse, Response
from kettle.sessions import flash

if TYPE_CHECKING:
    from kettle.auth.passkeys.core import Passkeys
    from kettle.scaffold import Group

#: The largest request body the endpoints read (an answer is a few kilobytes).
MAX_BODY = 64 * 1024
TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)
NO_PENDING = N_(
    "No sign-in is waiting for a second factor here: it expired after 5 minutes, or it "
    "was finished. Sign in again."
)


def passkeys_of(request: Request) -> Passkeys:
    """The ``Passkeys`` of the request's app."""
    passkeys: Passkeys = request.app.state.passkeys
    return passkeys


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object posted (``{}`` for an empty body), after the CSRF check; a 413 past
    ``MAX_BODY`` bytes, a 400 for anything but a JSON object."""
    config = request.app.config
    if config.csrf_enabled and not csrf.needs_check(request):
        # NOTE: the app checks requests that carry cookies; these are the rest.
        await csrf.check(request, config.csrf_trusted_origins)
    too_large = HTTPException(
        413,
        _("The passkey request is larger than %(limit)d bytes: send only the answer.")
        % {"limit": MAX_BODY},
    )
    length = request.headers.get("content-length", "")
    if length.isdecimal() and int(length) > MAX_BODY:
        raise too_large
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media and media != "application/json":
        # NOTE: the CSRF check may have read a form's token from the body already.
        raise PasskeyError(
            _(
                "The passkey endpoints take a JSON body (Content-Type: application/json), "
                "not %(media)s."
            )
            % {"media": media}
        )
    body = await request.body()  # the app's max_body_size bounds it before this check
    if len(body) > MAX_BODY:
        raise too_large
    data = decode_json(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise PasskeyError(_("The passkey request must be a JSON object, such as {}."))
    return data


def credential_of(data: dict[str, Any]) -> dict[str, Any]:
    """The authenticator's answer in the posted object."""
    credential = data.get("credential")
    if not isinstance(credential, dict):
        problem = _(
            'The request has no "credential" object: send what navigator.credentials returned.'
        )
        raise PasskeyError(ceremony.again(problem))
    return credential


def owner(request: Request) -> AbstractUser:
    """The signed-in user of a browser session (401 for nobody, 403 for an API token)."""
    user = get_user(request)
    if not isinstance(user, AbstractUser):
        raise HTTPException(401, _("Sign in first: passkeys are added to a signed-in account."))
    if get_api_token(request) is not None:
        raise HTTPException(
            403, _("Passkeys are managed from a signed-in browser session, not an API token.")
        )
    return user


def _options(options: Any) -> JSONResponse:
    return JSONResponse({"publicKey": options_to_json_dict(options)})


def _descriptors(passkeys: list[AbstractPasskey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=ceremony.decode(passkey.credential_id, N_("credential id")),
            transports=[
                AuthenticatorTransport(t) for t in passkey.transport_list if t in TRANSPORTS
            ],
        )
        for passkey in passkeys
    ]


def in_language(request: Request, url: str) -> str:
    """``url`` under the page's language prefix when it is a path of this site that names
    no language: the script goes there itself, so the app's rewriting of ``Location``
    headers (``kettle.i18n``) never sees it::

        in_language(request, "/auth/passkeys")   # "/fr/auth/passkeys" for a /fr/... request
    """
    if not active().prefix or not url.startswith("/") or url.startswith("//"):
        return url
    root = request.root_path  # it ends with the language prefix
    if url == root or url.startswith(root + "/"):
        return url  # request.url_for's, or request.link's: the prefix is in
    head = url[1:].split("/", 1)[0].split("?", 1)[0]
    languages = getattr(getattr(request.app.state, "i18n", None), "languages", ())
    return url if head in languages else root + url


def _redirect(request: Request, response: Response) -> JSONResponse:
    """``{"redirect": url}`` for the script, from the redirect a sign-in answered."""
    return JSONResponse({"redirect": in_language(request, response.headers.get("location", "/"))})


async def _used(passkey: AbstractPasskey, verified: Any) -> None:
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used = fields.now()
    await passkey.asave()


# --- registration ----------------------------------------------------------------------------
async def confirm_password(request: Request, user: AbstractUser, password: Any) -> None:
    """Refuse to add a passkey unless the user typed their password (when they have one):
    a stolen session must not be able to plant a passkey that outlives a password change.
    Wrong passwords count against the login throttle (429 once it is exhausted)."""
    if not user.has_usable_password():
        return
    auth = auth_of(request)
    address = client_host(request)
    wait = await auth.throttle.blocked(user.username, address)
    if wait:
        raise HTTPException(
            429, try_again(_("Too many wrong passwords."), wait), {"Retry-After": str(wait)}
        )
    if not isinstance(password, str) or not password:
        raise PasskeyError(
            _("Type your current password to add a passkey (it proves the account is yours).")
        )
    if not await request.app.run_sync(user.check_password, password):
        await auth.throttle.failed(user.username, address)
        raise PasskeyError(
            _(
                "That is not your current password. Type it to add a passkey (it proves the "
                "account is yours)."
            )
        )


async def register_options(request: Request) -> Response:
    """Start adding a passkey named ``name`` to the signed-in account."""
    user = owner(request)
    data = await read_body(request)
    passkeys = passkeys_of(request)
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    problem = name_problem(name)
    if problem is not None:
        raise PasskeyError(_("The passkey's name: %(problem)s") % {"problem": problem})
    await confirm_password(request, user, data.get("password"))
    mine = await passkeys.model.objects.filter(user_id=user.id).alist()
    limit = passkeys.options.max_per_user
    if len(mine) >= limit:
        raise PasskeyError(
            ngettext(
                "You have %(count)d passkey, the most an account may have (%(limit)d). "
                "Remove it first if you no longer use it.",
                "You have %(count)d passkeys, the most an account may have (%(limit)d). "
                "Remove one you no longer use first.",
                len(mine),
            )
            % {"count": len(mine), "limit": limit}
        )
    rp = passkeys.relying_party(request)
    handle = await passkeys.user_handle(user)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.username,
        user_id=handle,
        timeout=CHALLENGE_SECONDS * 1000,
        exclude_credentials=_descriptors(mine),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement(passkeys.options.resident_key),
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    handle_text = ceremony.encode(handle)
    ceremony.start(
        request, "register", options.challenge, user=user.id, name=name, handle=handle_text
    )
    return _options(options)


async def register(request: Request) -> Response:
    """Check the new passkey's attestation and keep it."""
    user = owner(request)
    data = await read_body(request)
    passkeys = passkeys_of(request)
    state = await ceremony.take(request, "register", auth_of(request).throttle.store)
    if state.get("user") != user.id:
        problem = _("This passkey request was started by another account.")
        raise PasskeyError(ceremony.again(problem))
    credential = credential_of(data)
    rp = passkeys.relying_party(request)
    verified = ceremony.check_registration(rp, state, credential)
    key = credential_key(verified.credential_id)
    if await passkeys.model.objects.filter(credential_key=key).aexists():
        raise PasskeyError(_("This passkey is registered already. Use it to sign in."))
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    kept = [t for t in transports if t in TRANSPORTS] if isinstance(transports, list) else []
    passkey = passkeys.model(
        user_id=user.id,
        name=str(state.get("name") or "Passkey"),
        credential_id=ceremony.encode(verified.credential_id),
        credential_key=key,
        public_key=ceremony.encode(verified.credential_public_key),
        user_handle=str(state.get("handle") or ""),
        sign_count=verified.sign_count,
        transports=",".join(sorted(set(kept))),
        backup_eligible=verified.credential_device_type == "multi_device",
        backed_up=verified.credential_backed_up,
    )
    await passkey.asave()
    message = _("The passkey %(name)s was added. You can sign in with it.")
    flash(request, message % {"name": passkey.name}, "success")
    redirect = in_language(request, request.url_for("auth.passkeys"))
    return JSONResponse({"redirect": redirect}, status=201)


# --- passwordless sign-in ------------------------------------------------------------------
async def login_options(request: Request) -> Response:
    """Start a sign-in with any passkey of this site (the authenticator offers its own)."""
    await read_body(request)
    rp = passkeys_of(request).relying_party(request)
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CHALLENGE_SECONDS * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    ceremony.start(request, "login", options.challenge)
    return _options(options)


async def _known(request: Request, credential: dict[str, Any], **lookups: Any) -> AbstractPasskey:
    raw_id = ceremony.decode(credential.get("rawId"), N_("credential id"))
    query = passkeys_of(request).model.objects.filter(credential_key=credential_key(raw_id))
    passkey: AbstractPasskey | None = await query.filter(**lookups).afirst()
    if passkey is None:
        raise PasskeyError(
            _(
                "This passkey is not registered on this site for this account (it may have "
                "been removed). Use another passkey, or sign in with your password."
            )
        )
    return passkey


async def login(request: Request) -> Response:
    """Sign in with a user-verified passkey: two factors in one, so no challenge follows."""
    data = await read_body(request)
    auth = auth_of(request)
    passkeys = passkeys_of(request)
    state = await ceremony.take(request, "login", auth.throttle.store)
    credential = credential_of(data)
    passkey = await _known(request, credential)
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle and ceremony.decode(handle, N_("user handle")) != ceremony.decode(
        passkey.user_handle, N_("user handle")
    ):
        raise PasskeyError(_("The passkey names another account than the one it belongs to."))
    rp = passkeys.relying_party(request)
    verified = ceremony.check_assertion(
        rp, state, credential, passkey, require_user_verification=True
    )
    user = await auth.user_model.objects.filter(id=passkey.user_id).afirst()
    if user is None or not user.is_active:
        raise PasskeyError(_("The account of this passkey is disabled: it cannot sign in."))
    await _used(passkey, verified)
    wanted = data.get("next")
    next_url = safe_next(
        wanted if isinstance(wanted, str) else None, request.link(auth.options.redirect_url)
    )
    signed_in = await auth.complete_sign_in(request, user, method="passkey", next_url=next_url)
    if "location" not in signed_in.headers:  # mandatory e-mail verification refused it
        raise HTTPException(403, _(VERIFY_FIRST))
    return _redirect(request, signed_in)


# --- second factor --------------------------------------------------------------------------
async def second_factor_options(request: Request) -> Response:
    """Ask for one of the pending user's passkeys, after their password."""
    await read_body(request)
    auth = auth_of(request)
    user = await auth.apending_user(request)
    if user is None:
        raise PasskeyError(_(NO_PENDING))
    passkeys = passkeys_of(request)
    mine = await passkeys.model.objects.filter(user_id=user.id).alist()
    if not mine:
        raise PasskeyError(_("Your account has no passkey: use another second factor."))
    rp = passkeys.relying_party(request)
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(mine),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    ceremony.start(request, "second-factor", options.challenge, user=user.id)
    return _options(options)


async def second_factor(request: Request) -> Response:
    """Check the pending user's passkey and finish their sign-in."""
    data = await read_body(request)
    auth = auth_of(request)
    state = await ceremony.take(request, "second-factor", auth.throttle.store)
    user = await auth.apending_user(request)
    if user is None or state.get("user") != user.id:
        raise PasskeyError(_(NO_PENDING))
    credential = credential_of(data)
    passkey = await _known(request, credential, user_id=user.id)
    rp = passkeys_of(request).relying_party(request)
    verified = ceremony.check_assertion(
        rp, state, credential, passkey, require_user_verification=False
    )
    await _used(passkey, verified)
    return _redirect(request, await auth.finish_second_factor(request, "passkey"))


def add_routes(group: Group) -> None:
    """Add the JSON endpoints to the auth group."""
    group.post("/passkeys/register/options", name="passkey_register_options")(register_options)
    group.post("/passkeys/register", name="passkey_register")(register)
    group.post("/passkeys/login/options", name="passkey_login_options")(login_options)
    group.post("/passkeys/login", name="passkey_login")(login)
    group.post("/2fa/passkey/options", name="passkey_2fa_options")(second_factor_options)
    group.post("/2fa/passkey/verify", name="passkey_2fa")(second_factor)


__all__ = ["MAX_BODY", "add_routes", "in_language", "passkeys_of", "read_body"]
