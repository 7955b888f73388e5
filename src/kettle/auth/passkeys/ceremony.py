"""The WebAuthn ceremonies: single-use challenges kept in the session, and the checks
of what the browser's authenticator answered.

A ceremony starts when the browser asks for options: a fresh random challenge goes into
the session under the ceremony's kind (``register``, ``login``, ``second-factor``) with
the time. The answer takes it back out, whatever the outcome, so it works once; it is
also marked used in the auth throttle store (``auth.throttle.store``), so replaying an
old session cookie with an old answer fails too. An answer more than
``CHALLENGE_SECONDS`` late is refused::

    state = start(request, "login", challenge)
    ...
    state = await take(request, "login", auth.throttle.store)   # PasskeyError when stale
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from webauthn import verify_authentication_response, verify_registration_response
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.registration.verify_registration_response import VerifiedRegistration

from kettle.auth.passkeys.models import CREDENTIAL_ID_LENGTH, AbstractPasskey
from kettle.auth.throttling import ThrottleStore
from kettle.exceptions import BadRequest
from kettle.i18n._gettext import gettext as _
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request

logger = logging.getLogger(__name__)
#: How long the browser has to answer a passkey request, in seconds.
CHALLENGE_SECONDS = 5 * 60
#: The advice that ends many refusals (translate it with ``gettext`` where it is used).
START_AGAIN = N_("Start again: reload the page and use your passkey once more.")


class PasskeyError(BadRequest):
    """A passkey request refused: a 400 whose ``detail`` says what was wrong and what to
    do (the page's script shows it)::

        raise PasskeyError("This passkey is not registered on this site.")
    """


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the RP id (a domain), its name, the allowed origins."""

    id: str
    name: str
    origins: tuple[str, ...]


def encode(data: bytes) -> str:
    """Bytes as base64url without padding, as WebAuthn's JSON carries them."""
    return bytes_to_base64url(data)


def again(problem: str) -> str:
    """``problem`` (translated already) followed by ``START_AGAIN``, translated::

    raise PasskeyError(again(_("This passkey request was answered already.")))
    """
    return f"{problem} {_(START_AGAIN)}"


def decode(text: Any, what: str) -> bytes:
    """base64url text from the browser as bytes; a ``PasskeyError`` naming ``what`` (a
    message marked with ``gettext_noop``, translated here) if it is not::

        decode(credential.get("rawId"), N_("credential id"))
    """
    if not isinstance(text, str) or not text or len(text) > CREDENTIAL_ID_LENGTH:
        problem = _("The passkey answer's %(field)s is missing or too long.")
        raise PasskeyError(again(problem % {"field": _(what)}))
    try:
        return base64url_to_bytes(text)
    except ValueError:
        problem = _("The passkey answer's %(field)s is not base64url.")
        raise PasskeyError(again(problem % {"field": _(what)})) from None


# --- challenges ------------------------------------------------------------------------
def _key(kind: str) -> str:
    return f"_passkey_{kind}"


def start(request: Request, kind: str, challenge: bytes, **extra: Any) -> None:
    """Keep ``challenge`` (and ``extra``) in the session for the ``kind`` ceremony."""
    request.session[_key(kind)] = {"challenge": encode(challenge), "at": int(time.time()), **extra}


async def take(request: Request, kind: str, store: ThrottleStore) -> dict[str, Any]:
    """The ``kind`` ceremony's state, taken out of the session; ``PasskeyError`` when none
    was started, it is older than ``CHALLENGE_SECONDS``, or its challenge was used."""
    state = request.session.pop(_key(kind), None) if request.session_data is not None else None
    if not isinstance(state, dict) or not isinstance(state.get("challenge"), str):
        problem = _(
            "No passkey request is waiting for an answer here (it was answered already, or "
            "the session ended)."
        )
        raise PasskeyError(again(problem))
    at = state.get("at")
    if not isinstance(at, int) or not 0 <= time.time() - at <= CHALLENGE_SECONDS:
        minutes = CHALLENGE_SECONDS // 60
        problem = _("The passkey request expired after %(minutes)d minutes.")
        raise PasskeyError(again(problem % {"minutes": minutes}))
    used = hashlib.sha256(state["challenge"].encode()).hexdigest()
    if await store.hit(f"passkey:challenge:{used}", CHALLENGE_SECONDS + 60) > 1:
        raise PasskeyError(again(_("This passkey request was answered already.")))
    state["challenge"] = base64url_to_bytes(state["challenge"])
    return state


# --- checking answers ------------------------------------------------------------------------
def check_registration(
    rp: RelyingParty, state: dict[str, Any], credential: dict[str, Any]
) -> VerifiedRegistration:
    """The new credential, once its attestation checks out for ``rp`` and the challenge."""
    try:
        return verify_registration_response(
            credential=credential,
            expected_challenge=state["challenge"],
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as error:
        raise PasskeyError(explain(error, rp, "registered")) from None


def check_assertion(
    rp: RelyingParty,
    state: dict[str, Any],
    credential: dict[str, Any],
    passkey: AbstractPasskey,
    *,
    require_user_verification: bool,
) -> VerifiedAuthentication:
    """The checked sign-in of ``passkey``: challenge, origin, RP id, signature and counter."""
    try:
        return verify_authentication_response(
            credential=credential,
            expected_challenge=state["challenge"],
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as error:
        if "sign count" in str(error):
            logger.warning(
                "Passkey %s of user %s refused as a possible clone: %s",
                passkey.id,
                passkey.user_id,
                error,
            )
        raise PasskeyError(explain(error, rp, "used", passkey)) from None


def explain(
    error: Exception, rp: RelyingParty, done: str, passkey: AbstractPasskey | None = None
) -> str:
    """What the user reads when WebAuthn refused an answer (the library's words mapped to
    ones that say what to do)."""
    text = str(error)
    if "origin" in text:
        where = (
            _("The passkey was registered on another site than this one (%(allowed)s): %(text)s.")
            if done == "registered"
            else _("The passkey was used on another site than this one (%(allowed)s): %(text)s.")
        )
        advice = _("Open this site at its own address and try again.")
        return f"{where % {'allowed': ', '.join(rp.origins), 'text': text}} {advice}"
    if "RP ID" in text:
        return _(
            "The passkey was made for another site, not for %(site)s. Use a passkey "
            "registered on this site."
        ) % {"site": repr(rp.id)}
    if "challenge" in text:
        return again(_("The passkey answered another request than this one."))
    if "sign count" in text and passkey is not None:
        return _(
            "The passkey %(name)s reported a use count that went backwards, as a copied "
            "(cloned) authenticator would: it is refused. Remove it from your account, and "
            "register the authenticator again if it is yours."
        ) % {"name": repr(passkey.name)}
    if "signature" in text:
        return _("The passkey's signature does not match its public key: it is refused.")
    if "User verification is required" in text:
        return _(
            "Signing in with a passkey alone needs the authenticator to verify you (a PIN, "
            "a fingerprint or your face). Use a passkey that can, or sign in with your "
            "password."
        )
    if "not present" in text:
        return again(_("The authenticator did not confirm you were present."))
    problem = _("The passkey's answer could not be checked (%(reason)s).")
    return again(problem % {"reason": text or type(error).__name__})


__all__ = [
    "CHALLENGE_SECONDS",
    "START_AGAIN",
    "PasskeyError",
    "RelyingParty",
    "again",
    "check_assertion",
    "check_registration",
    "decode",
    "encode",
    "explain",
    "start",
    "take",
]
