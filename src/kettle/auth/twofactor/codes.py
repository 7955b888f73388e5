"""The codes of two-factor authentication, with no I/O: TOTP secrets (sealed for storage),
the time step a code matches, recovery codes and their hashes, and the enrolment QR code.

::

    secret = new_secret()
    stored = seal(secret, "app-secret-key")           # what the database keeps
    assert unseal(stored, ["app-secret-key"]) == secret
    step = matching_step(secret, "492039", after=0)   # None: wrong or already used
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Seconds per TOTP time step (RFC 6238's default, what every authenticator app uses).
STEP = 30
#: Digits in a TOTP code.
DIGITS = 6
#: Time steps either side of now whose code is accepted (clock drift, slow typing).
DRIFT = 1
#: Recovery codes made at a time.
RECOVERY_CODES = 10
_SEALED = "v1."
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to copy out
_NOT_RECOVERY = re.compile(r"[\s-]+")


class SealError(ValueError):
    """A stored TOTP secret that no configured secret key opens."""


def new_secret() -> str:
    """A new random TOTP secret: 32 base32 characters (160 bits)."""
    return pyotp.random_base32(32)


def _key(secret_key: str) -> bytes:
    message = b"kettle.auth.twofactor.totp-secret"
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def seal(secret: str, secret_key: str) -> str:
    """``secret`` encrypted (AES-256-GCM) under a key derived from the app's secret key."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret.encode(), _SEALED.encode())
    return _SEALED + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(stored: str, secret_keys: Iterable[str]) -> str:
    """The secret ``seal`` stored, opened with the first of ``secret_keys`` that fits
    (the current key, then ``secret_key_fallbacks``); ``SealError`` when none does."""
    if not stored.startswith(_SEALED):
        raise SealError("The stored TOTP secret is not sealed by kettle.auth.twofactor.")
    raw = base64.urlsafe_b64decode(stored[len(_SEALED) :])
    for secret_key in secret_keys:
        try:
            opened = AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], _SEALED.encode())
        except InvalidTag:
            continue
        return opened.decode()
    raise SealError(
        "No secret key opens the stored TOTP secret: was SECRET_KEY changed without "
        "keeping the old one in SECRET_KEY_FALLBACKS? The user must enrol again."
    )


def is_code(value: str) -> bool:
    """Whether ``value`` looks like a TOTP code: exactly ``DIGITS`` ASCII digits."""
    return len(value) == DIGITS and value.isascii() and value.isdigit()


def current_step(now: float | None = None) -> int:
    """The TOTP time step of ``now`` (default: the current time)."""
    return int((time.time() if now is None else now) // STEP)


def matching_step(secret: str, code: str, *, after: int, now: float | None = None) -> int | None:
    """The time step within ``DRIFT`` of now whose code is ``code`` and that comes after
    ``after`` (the last step accepted: a code works once), else None."""
    if not is_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    found = None
    for step in range(current_step(now) - DRIFT, current_step(now) + DRIFT + 1):
        # NOTE: every step is compared, whichever matches: the time taken tells nothing.
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after:
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG, made here (nothing is sent anywhere)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title="QR code to scan"))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """``count`` random recovery codes like ``k7mq2-x9frt`` (about 50 bits each)."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(count)
    ]


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of it without spaces, dashes or case."""
    normal = _NOT_RECOVERY.sub("", code).lower()
    return hashlib.sha256(
        b"kettle.auth.recovery\0" + normal.encode("utf-8", "surrogatepass")
    ).hexdigest()


__all__ = [
    "DIGITS",
    "RECOVERY_CODES",
    "STEP",
    "SealError",
    "hash_recovery_code",
    "is_code",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "provisioning_uri",
    "qr_svg",
    "seal",
    "unseal",
]
