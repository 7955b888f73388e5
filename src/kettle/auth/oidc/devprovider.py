"""A stand-in OpenID Connect provider (and GitHub look-alike) on 127.0.0.1, for tests and
demos: sign in with a provider without registering an app anywhere.

Hand-written endpoints on ``http.server`` in a thread, signing with joserfc (Authlib's
JOSE library): discovery, JWKS (an RSA key made at start), authorize (consents at once for
``provider.account``, and redirects back with a code), token (checks the client, the
redirect URI and the PKCE verifier; each code works once), userinfo, and GitHub's
``/api/user`` and ``/api/user/emails``. ``provider.knobs`` make it misbehave the ways an
attacker or a broken provider would::

    with running_provider() as provider:
        Providers(auth, [provider.oidc("acme"), provider.github()])
        provider.knobs.nonce = "not-the-one-sent"    # the next ID token has a wrong nonce
        provider.account = Account(email_verified=False)

Its client is ``CLIENT_ID`` / ``CLIENT_SECRET``. Kettle's tests and the news site's demo
(``make demo``) use it; ``python -m kettle.auth.oidc.devprovider [PORT]`` serves one until
interrupted. It holds everything in memory and trusts whoever asks: never in production.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from kettle.auth.oidc.providers import GitHub, OIDCProvider

#: The one client the provider knows: its id and secret go in the app's provider settings.
CLIENT_ID = "kettle-test-client"
#: That client's secret (a stand-in: never a real provider's).
CLIENT_SECRET = "kettle-test-secret-0123456789"


@dataclass
class Account:
    """The person who signs in at the provider (it consents at once)."""

    #: The provider's stable id for the person (the ID token's ``sub``).
    sub: str = "acme-0001"
    #: The address the provider asserts.
    email: str = "ann@example.org"
    #: Whether the provider says it checked that address (linking by address needs it).
    email_verified: bool = True
    #: The username it suggests.
    preferred_username: str = "ann"
    #: The display name.
    name: str = "Ann Example"
    #: GitHub's numeric user id.
    github_id: int = 583231


@dataclass
class Knobs:
    """Ways to misbehave, each for every following request until ``reset()``."""

    #: Put this nonce in ID tokens instead of the one sent.
    nonce: str | None = None
    #: Issue ID tokens that expired an hour ago.
    expired: bool = False
    #: Put this audience (``aud``) in ID tokens instead of the client id.
    audience: str | None = None
    #: Put this issuer (``iss``) in ID tokens instead of the provider's.
    issuer: str | None = None
    #: Send the browser back with ``?error=<this>`` instead of a code.
    error: str | None = None
    #: Leave the e-mail claims out of the ID token (the userinfo endpoint has them).
    email_in_userinfo_only: bool = False
    #: Sign ID tokens with a key the JWKS does not publish.
    unpublished_key: bool = False


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    scope: str
    account: Account


@dataclass
class OpenIDProvider:
    """The provider's state; ``url`` and ``issuer`` once started (``running_provider``)."""

    account: Account = field(default_factory=Account)
    knobs: Knobs = field(default_factory=Knobs)
    #: Where it listens (``http://127.0.0.1:PORT``), set once it is serving.
    url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    codes: dict[str, _Grant] = field(default_factory=dict)
    tokens: dict[str, Account] = field(default_factory=dict)
    #: Every request: (method, path), for tests that check what was asked.
    log: list[tuple[str, str]] = field(default_factory=list)
    #: The codes the token endpoint refused, and why.
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        """The ``iss`` its tokens carry: its own URL."""
        return self.url

    @property
    def discovery_url(self) -> str:
        """Its OpenID discovery document's URL, what an app's provider settings name."""
        return f"{self.url}/.well-known/openid-configuration"

    def reset(self) -> None:
        """Back to a well-behaved provider and the default account."""
        self.account, self.knobs = Account(), Knobs()

    def rotate_key(self) -> None:
        """Sign with a new key from now on (the JWKS publishes only the new one)."""
        self.key = RSAKey.generate_key(2048, auto_kid=True)

    def oidc(self, name: str = "acme", **options: Any) -> OIDCProvider:
        """An ``OIDCProvider`` of kettle configured for this provider."""
        return acme_at(self.url, name, **options)

    def github(self, **options: Any) -> GitHub:
        """A ``GitHub`` provider of kettle pointed at this server."""
        return github_at(self.url, **options)

    # --- the endpoints' work ----------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        """The discovery document: the issuer, endpoints, key set and what it supports."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def authorize(self, params: dict[str, str]) -> str:
        """The URL the browser is sent back to (an error is a 400 ``ValueError``)."""
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != CLIENT_ID or not redirect_uri.startswith("http"):
            raise ValueError("unknown client_id or no redirect_uri")
        back = {"state": params.get("state", "")}
        if self.knobs.error:
            back["error"] = self.knobs.error
            back["error_description"] = "The user said no."
        elif params.get("response_type") != "code" or params.get("code_challenge_method") != "S256":
            back["error"] = "invalid_request"
            back["error_description"] = "response_type=code and PKCE (S256) are required."
        else:
            code = secrets.token_urlsafe(24)
            grant = _Grant(
                CLIENT_ID,
                redirect_uri,
                params.get("code_challenge", ""),
                params.get("nonce"),
                params.get("scope", ""),
                Account(**asdict(self.account)),
            )
            with self.lock:
                self.codes[code] = grant
            back["code"] = code
        return f"{redirect_uri}?{urlencode(back)}"

    def token(
        self, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        """Answer the token endpoint: ``(status, JSON body)`` for a code exchange, with the
        client checked by HTTP Basic or form fields and PKCE verified."""
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # NOTE: a code works once
        if grant is None:
            self.refusals.append("unknown or used code")
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not verifier or challenge != grant.challenge:
            self.refusals.append("PKCE verifier does not match")
            return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        if form.get("redirect_uri") != grant.redirect_uri:
            self.refusals.append("redirect_uri differs")
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        access = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access] = grant.account
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        if "openid" in grant.scope.split():
            answer["id_token"] = self.id_token(grant)
        return 200, answer

    def id_token(self, grant: _Grant) -> str:
        """The signed ID token for ``grant`` (the knobs may spoil it, for attack tests)."""
        now = int(time.time())
        issued = now - 7200 if self.knobs.expired else now
        claims: dict[str, Any] = {
            "iss": self.knobs.issuer or self.issuer,
            "sub": grant.account.sub,
            "aud": self.knobs.audience or grant.client_id,
            "iat": issued,
            "exp": issued + 3600,
            "nonce": self.knobs.nonce or grant.nonce,
            "preferred_username": grant.account.preferred_username,
            "name": grant.account.name,
        }
        if not self.knobs.email_in_userinfo_only:
            claims["email"] = grant.account.email
            claims["email_verified"] = grant.account.email_verified
        key = RSAKey.generate_key(2048, auto_kid=True) if self.knobs.unpublished_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def userinfo(self, account: Account) -> dict[str, Any]:
        """The userinfo endpoint's claims about ``account``."""
        return {
            "sub": account.sub,
            "email": account.email,
            "email_verified": account.email_verified,
            "preferred_username": account.preferred_username,
            "name": account.name,
        }


def acme_at(url: str, name: str = "acme", **options: Any) -> OIDCProvider:
    """kettle's ``OIDCProvider`` for the provider served at ``url``::

    Providers(auth, [acme_at("http://127.0.0.1:8001", title="Acme")])
    """
    values = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **options}
    return OIDCProvider(name, discovery_url=f"{url}/.well-known/openid-configuration", **values)


def github_at(url: str, **options: Any) -> GitHub:
    """kettle's ``GitHub`` provider, its URLs pointed at the provider served at ``url``::

    Providers(auth, [github_at("http://127.0.0.1:8001")])
    """
    return GitHub(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{url}/authorize",
        token_url=f"{url}/token",
        api_base=f"{url}/api",
        **options,
    )


class _Handler(BaseHTTPRequestHandler):
    provider: OpenIDProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _bearer(self) -> Account | None:
        header = self.headers.get("Authorization", "")
        return self.provider.tokens.get(header[7:]) if header.startswith("Bearer ") else None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        provider = self.provider
        provider.log.append(("GET", parts.path))
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            return self._send(200, provider.discovery())
        if parts.path == "/jwks":
            return self._send(200, KeySet([provider.key]).as_dict(private=False))
        if parts.path == "/authorize":
            try:
                return self._send(302, None, {"Location": provider.authorize(params)})
            except ValueError as error:
                return self._send(400, {"error": str(error)})
        account = self._bearer()
        if parts.path in ("/userinfo", "/api/user", "/api/user/emails") and account is None:
            return self._send(401, {"error": "invalid_token"})
        assert account is not None or parts.path not in ("/userinfo", "/api/user")
        if parts.path == "/userinfo" and account is not None:
            return self._send(200, provider.userinfo(account))
        if parts.path == "/api/user" and account is not None:
            user = {"id": account.github_id, "login": account.preferred_username, "email": None}
            return self._send(200, user)
        if parts.path == "/api/user/emails" and account is not None:
            row = {"email": account.email, "verified": account.email_verified, "primary": True}
            return self._send(200, [row])
        return self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        self.provider.log.append(("POST", parts.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if parts.path != "/token":
            return self._send(404, {"error": "not found"})
        form = {k: v[0] for k, v in parse_qs(body).items()}
        basic = None
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            basic = (user, password)
        status, answer = self.provider.token(form, basic)
        return self._send(status, answer)


@contextlib.contextmanager
def running_provider(port: int = 0) -> Iterator[OpenIDProvider]:
    """A provider serving on 127.0.0.1 (a free port unless given) until the block ends."""
    provider = OpenIDProvider()
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "Account",
    "Knobs",
    "OpenIDProvider",
    "acme_at",
    "github_at",
    "running_provider",
]

if __name__ == "__main__":
    import sys

    with running_provider(int(sys.argv[1]) if len(sys.argv) > 1 else 0) as served:
        print(f"OpenID provider at {served.url} (client {CLIENT_ID} / {CLIENT_SECRET})")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
