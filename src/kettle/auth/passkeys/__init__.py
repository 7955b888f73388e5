"""kettle.auth.passkeys: WebAuthn passkeys, to sign in with no password or as a second
factor after one.

::

    from kettle.auth import Auth
    from kettle.auth.passkeys import PasskeyOptions, Passkeys

    auth = Auth(app)
    Passkeys(auth)      # the request's host is the relying party: right for one domain
    Passkeys(auth, options=PasskeyOptions(rp_id="example.org", rp_name="Example",
                                          origins=["https://example.org"]))

Users add passkeys on ``{prefix}/passkeys``; the login page then offers "Sign in with a
passkey", and a user with a passkey is asked for it after their password (the
``passkey`` second factor of ``kettle.auth.factors``). The passkeys live in the table
``<user table>_passkey`` (``passkey_model_for``). Uses the ``webauthn`` package.
"""

from __future__ import annotations

from kettle.auth.passkeys.ceremony import CHALLENGE_SECONDS, PasskeyError
from kettle.auth.passkeys.core import PasskeyFactor, PasskeyOptions, Passkeys
from kettle.auth.passkeys.models import AbstractPasskey, passkey_model_for

__all__ = [
    "CHALLENGE_SECONDS",
    "AbstractPasskey",
    "PasskeyError",
    "PasskeyFactor",
    "PasskeyOptions",
    "Passkeys",
    "passkey_model_for",
]
