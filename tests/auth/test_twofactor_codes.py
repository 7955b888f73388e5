"""The codes of kettle.auth.twofactor, without a database: sealed secrets, time steps,
recovery codes and the QR code."""

from __future__ import annotations

import asyncio

import pyotp
import pytest

from kettle.auth.throttling import LoginThrottle, MemoryThrottleStore
from kettle.auth.twofactor import codes
from kettle.auth.twofactor.core import CodeThrottle

NOW = 1_800_000_000.0  # a fixed moment: step 60_000_000


def test_a_sealed_secret_opens_with_the_key_or_a_fallback() -> None:
    secret = codes.new_secret()
    sealed = codes.seal(secret, "old-key")
    assert secret not in sealed
    assert sealed != codes.seal(secret, "old-key")
    assert codes.unseal(sealed, ["new-key", "old-key"]) == secret
    with pytest.raises(codes.SealError, match="SECRET_KEY_FALLBACKS"):
        codes.unseal(sealed, ["new-key"])
    with pytest.raises(codes.SealError, match="not sealed"):
        codes.unseal(secret, ["old-key"])


def test_a_code_matches_its_step_and_the_next_and_previous() -> None:
    secret = codes.new_secret()
    totp = pyotp.TOTP(secret)
    step = codes.current_step(NOW)
    for offset in (-1, 0, 1):
        code = totp.at(NOW + 30 * offset)
        assert codes.matching_step(secret, code, after=0, now=NOW) == step + offset
    assert codes.matching_step(secret, totp.at(NOW + 60), after=0, now=NOW) is None
    assert codes.matching_step(secret, totp.at(NOW - 60), after=0, now=NOW) is None


def test_a_code_of_a_step_already_used_is_refused() -> None:
    secret = codes.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = codes.current_step(NOW)
    assert codes.matching_step(secret, code, after=step - 1, now=NOW) == step
    assert codes.matching_step(secret, code, after=step, now=NOW) is None


@pytest.mark.parametrize("value", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "12 345"])
def test_only_six_ascii_digits_are_a_code(value: str) -> None:
    assert not codes.is_code(value)
    assert codes.matching_step(codes.new_secret(), value, after=0) is None


def test_recovery_codes_are_random_and_hashed_loosely() -> None:
    made = codes.new_recovery_codes()
    assert len(made) == codes.RECOVERY_CODES == len(set(made))
    code = made[0]
    assert len(code) == 11
    assert code[5] == "-"
    stored = codes.hash_recovery_code(code)
    assert code not in stored
    assert len(stored) == 64
    assert codes.hash_recovery_code(f" {code.upper().replace('-', ' ')} ") == stored
    assert codes.hash_recovery_code("\udcff") != stored  # any text hashes, none fails


def test_the_qr_code_is_inline_svg_of_the_otpauth_address() -> None:
    uri = codes.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ann", "Kettle News")
    assert uri.startswith(
        "otpauth://totp/Kettle%20News:ann?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    )
    svg = codes.qr_svg(uri)
    assert svg.startswith("<svg")
    assert "<script" not in svg
    assert "style=" not in svg


def test_wrong_codes_count_apart_from_wrong_passwords() -> None:
    async def run() -> None:
        store = MemoryThrottleStore()
        login = LoginThrottle(store, max_per_account=1, max_per_address=1)
        code = CodeThrottle(store, max_per_account=1, max_per_address=1)
        await code.failed("7", "203.0.113.9")
        assert await code.blocked("7", "198.51.100.1") > 0  # the user, from anywhere
        assert await code.blocked("8", "203.0.113.9") > 0  # the address, for anyone
        assert await login.blocked("7", "203.0.113.9") == 0  # logins have their own

    asyncio.run(run())
