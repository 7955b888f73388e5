"""Checking an OpenID Connect ID token against its provider's published keys.

The token must be signed by a key of the provider's JWKS (fetched once, and again when a
token names a key not seen before: the provider rotated its keys), with an algorithm the
provider announced (never ``none``, never a shared-secret one), and its claims must say it
was issued by the provider (``iss``), for this site (``aud``, ``azp``), for this sign-in
(``nonce``) and is current (``exp``, ``iat``)::

    checker = IdTokenChecker(issuer="https://id.acme.example", jwks_uri=".../jwks",
                             client_id="kettle-news")
    claims = await checker.check(http, raw_id_token, nonce)   # or SignInError
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

#: Signature algorithms accepted for ID tokens: public-key ones only.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: Seconds of clock difference tolerated on ``exp`` and ``iat``.
LEEWAY = 60
#: An ID token issued longer ago than this (seconds) is refused, whatever its ``exp``.
MAX_AGE = 10 * 60


class SignInError(Exception):
    """Why a sign-in through a provider was refused; the message is shown to the person
    on a 400 page, so it says what happened and never holds a secret::

        raise SignInError("The ID token has expired.")
    """


class IdTokenChecker:
    """Checks ID tokens of one provider for one client (see the module docstring)."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_uri: str,
        client_id: str,
        algorithms: Sequence[str] | None = None,
    ) -> None:
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self.client_id = client_id
        offered = [alg for alg in algorithms or ("RS256",) if alg in ALGORITHMS]
        self.algorithms = offered or ["RS256"]
        self._keys: KeySet | None = None

    async def _fetch_keys(self, http: httpx.AsyncClient) -> KeySet:
        try:
            response = await http.get(self.jwks_uri)
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as error:
            raise SignInError(
                f"The provider's signing keys could not be read ({error})."
            ) from error
        return self._keys

    async def check(self, http: httpx.AsyncClient, raw: str, nonce: str) -> dict[str, Any]:
        """The claims of ``raw`` once signature and claims are checked; ``SignInError``
        otherwise."""
        keys = self._keys or await self._fetch_keys(http)
        try:
            token = jwt.decode(raw, keys, algorithms=self.algorithms)
        except JoseError as error:
            kid = _kid(raw)
            if kid is None or any(key.kid == kid for key in keys.keys):
                raise SignInError(f"The ID token's signature is not valid ({error}).") from error
            # NOTE: a key we have not seen: the provider may have rotated its keys.
            keys = await self._fetch_keys(http)
            try:
                token = jwt.decode(raw, keys, algorithms=self.algorithms)
            except JoseError as again:
                raise SignInError(
                    f"The ID token is signed with a key the provider does not publish ({again})."
                ) from again
        except ValueError as error:
            raise SignInError(f"The ID token is not a valid JWT ({error}).") from error
        claims = dict(token.claims)
        self._check_claims(claims, nonce)
        return claims

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        now = int(time.time())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise SignInError("The ID token has expired: sign in again.") from error
        except (InvalidClaimError, MissingClaimError) as error:
            raise SignInError(
                f"The ID token was not issued for this sign-in: {_claim(error)}."
            ) from error
        except JoseError as error:
            raise SignInError(f"The ID token is not valid ({error}).") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInError("The ID token was not issued for this sign-in: azp.")
        issued = claims["iat"]
        if not isinstance(issued, int | float) or now - issued > MAX_AGE + LEEWAY:
            raise SignInError("The ID token is too old: sign in again.")


def _kid(raw: str) -> str | None:
    """The ``kid`` of a compact JWS's header, if it has one."""
    from joserfc.jws import extract_compact

    try:
        kid = extract_compact(raw.encode()).protected.get("kid")
    except (JoseError, ValueError):
        return None
    return kid if isinstance(kid, str) else None


def _claim(error: JoseError) -> str:
    """The claim a joserfc claim error is about: ``"Invalid claim: 'nonce'"`` → nonce."""
    text = str(error)
    return text.rsplit(":", 1)[-1].strip().strip("'\"") if ":" in text else text


__all__ = ["ALGORITHMS", "LEEWAY", "MAX_AGE", "IdTokenChecker", "SignInError"]
