"""``IdTokenChecker`` against the test provider's published keys: tokens that are not
signed with a public key the provider publishes, or whose claims are not for this
sign-in, are refused with a message that says why."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from oidcsite import provider

from kettle.auth.oidc import IdTokenChecker, SignInError
from kettle.auth.oidc.devprovider import CLIENT_ID, CLIENT_SECRET, OpenIDProvider

__all__ = ["provider"]  # the fixture, used by name
NONCE = "n-0123456789"


def claims(provider: OpenIDProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"iss": provider.issuer, "sub": "acme-0001", "aud": CLIENT_ID, "iat": now}
    values.update(exp=now + 300, nonce=NONCE)
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def signed(provider: OpenIDProvider, **changes: Any) -> str:
    key = provider.key
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims(provider, **changes), key)


def check(provider: OpenIDProvider, raw: str, nonce: str = NONCE) -> dict[str, Any]:
    checker = IdTokenChecker(
        issuer=provider.issuer, jwks_uri=f"{provider.url}/jwks", client_id=CLIENT_ID
    )

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            return await checker.check(http, raw, nonce)

    return asyncio.run(run())


def test_a_good_token_passes(provider: OpenIDProvider) -> None:
    assert check(provider, signed(provider))["sub"] == "acme-0001"


def test_several_audiences_need_azp(provider: OpenIDProvider) -> None:
    both = [CLIENT_ID, "another"]
    with pytest.raises(SignInError, match="azp"):
        check(provider, signed(provider, aud=both))
    assert check(provider, signed(provider, aud=both, azp=CLIENT_ID))["azp"] == CLIENT_ID


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
        ({"iat": None}, "iat"),
        ({"exp": None}, "exp"),
        ({"iat": int(time.time()) - 3600, "exp": int(time.time()) + 3600}, "too old"),
    ],
)
def test_claims_are_required(
    provider: OpenIDProvider, changes: dict[str, Any], phrase: str
) -> None:
    with pytest.raises(SignInError, match=phrase):
        check(provider, signed(provider, **changes))


def test_no_shared_secret_signatures(provider: OpenIDProvider) -> None:
    secret = OctKey.import_key(CLIENT_SECRET.encode() * 2)
    raw = jwt.encode({"alg": "HS256"}, claims(provider), secret)
    with pytest.raises(SignInError, match="signature"):
        check(provider, raw)


def test_no_unsigned_tokens(provider: OpenIDProvider) -> None:
    _, payload, _ = signed(provider).split(".")
    none = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    with pytest.raises(SignInError):
        check(provider, f"{none.decode()}.{payload}.")


def test_garbage_is_refused(provider: OpenIDProvider) -> None:
    with pytest.raises(SignInError):
        check(provider, "not-a-jwt")
