"""kettle.auth.twofactor: a code from an authenticator app after the password.

::

    from kettle.auth import Auth
    from kettle.auth.twofactor import TwoFactor, TwoFactorOptions

    auth = Auth(app)
    two_factor = TwoFactor(auth, options=TwoFactorOptions(required_for_staff=True))

Users turn it on at ``/auth/2fa/setup`` (a QR code made here with segno, the secret as
text, a first code to confirm), and get ten single-use recovery codes, stored hashed.
After their password they are asked for a code (``/auth/2fa/totp``) or a recovery code
(``/auth/2fa/recovery``) before they are signed in; wrong codes are throttled. The TOTP
secret is stored encrypted with a key derived from the app's secret key. Install with
``pip install "kettle[twofactor]"``.
"""

from __future__ import annotations

from kettle.auth.twofactor.core import RecoveryFactor, TotpFactor, TwoFactor, TwoFactorOptions
from kettle.auth.twofactor.models import (
    AbstractRecoveryCode,
    AbstractTotp,
    recovery_model_for,
    totp_model_for,
)

__all__ = [
    "AbstractRecoveryCode",
    "AbstractTotp",
    "RecoveryFactor",
    "TotpFactor",
    "TwoFactor",
    "TwoFactorOptions",
    "recovery_model_for",
    "totp_model_for",
]
