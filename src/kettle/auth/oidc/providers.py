"""Sign-in providers: any OpenID Connect provider by its discovery URL, GitHub, Google.

::

    acme = OIDCProvider("acme", "https://id.acme.example/.well-known/openid-configuration",
                        client_id="kettle-news", client_secret="...")
    github = GitHub(client_id="Iv1.8a61f9b3a7aba766", client_secret="...")
    google = Google(client_id="...apps.googleusercontent.com", client_secret="...")

A provider answers two questions for the sign-in flow (``kettle.auth.oidc.flow``): where
to send the browser (``endpoints``) and, once the code is exchanged, who the person is
(``identify``): an ``Assertion`` with the provider's stable id of the account and the
e-mail address it vouches for, with whether it verified it.
"""

from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import httpx

from kettle.auth.oidc.idtoken import IdTokenChecker, SignInError


@dataclass(frozen=True)
class Assertion:
    """Who the provider says signed in::

    Assertion(subject="583231", email="ann@example.org", email_verified=True,
              username="ann")
    """

    #: The provider's stable, never reused id of the account (``sub``, GitHub's user id).
    subject: str
    #: The address the provider gave ("" when none).
    email: str = ""
    #: Whether the provider says it verified that the person reads ``email``.
    email_verified: bool = False
    #: A name to start a new account's username from ("" when none).
    username: str = ""


@dataclass(frozen=True)
class Endpoints:
    """Where the browser is sent to sign in, and where the code is exchanged."""

    authorize: str
    token: str


@dataclass
class Provider:
    """What every provider has: a ``name`` (in URLs and the identity table), a ``title``
    for buttons, the client credentials and the scope. Credentials left empty are read
    from the settings ``oidc_<name>_client_id`` and ``oidc_<name>_client_secret``
    (``KETTLE_OIDC_GITHUB_CLIENT_ID``...; see ``Providers``)::

        class Forge(Provider): ...   # implement endpoints() and identify()
    """

    #: The provider's name in URLs and in the identity table: ``"acme"``.
    name: str
    _: KW_ONLY
    #: What the buttons say ("Sign in with <title>"); default: the name, capitalised.
    title: str = ""
    #: The id the provider gave this site ("" reads ``oidc_<name>_client_id``).
    client_id: str = ""
    #: The secret the provider gave this site ("" reads ``oidc_<name>_client_secret``).
    client_secret: str = field(default="", repr=False)
    #: The scopes asked for, separated by spaces.
    scope: str = "openid email profile"
    #: Seconds the network calls to the provider may take.
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.islower():
            raise ValueError(
                f"Provider name {self.name!r} is used in URLs and settings names: use lower-"
                "case letters, digits and underscores, such as 'acme' or 'github'."
            )
        if not self.title:
            self.title = self.name.replace("_", " ").title()

    @property
    def uses_openid(self) -> bool:
        """Whether the token response carries an ID token to check (and a nonce is sent)."""
        return "openid" in self.scope.split()

    async def endpoints(self, http: httpx.AsyncClient) -> Endpoints:
        """The authorization and token endpoints."""
        raise NotImplementedError

    async def identify(
        self, http: httpx.AsyncClient, token: dict[str, Any], nonce: str
    ) -> Assertion:
        """Who signed in, from the token endpoint's answer ``token``; raises
        ``SignInError`` when the answer cannot be trusted."""
        raise NotImplementedError


async def get_json(http: httpx.AsyncClient, url: str, what: str, **options: Any) -> Any:
    """GET ``url`` and decode its JSON; a ``SignInError`` naming ``what`` on failure."""
    try:
        response = await http.get(url, **options)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SignInError(f"The provider's {what} could not be read ({error}).") from error


@dataclass(kw_only=True)
class OIDCProvider(Provider):
    """An OpenID Connect provider, configured from its discovery document; the ID token
    is checked against the provider's keys (signature, ``iss``, ``aud``, ``exp``,
    ``iat``, ``nonce``)::

        OIDCProvider(name="acme", discovery_url="https://id.acme.example/.well-known/"
                     "openid-configuration", client_id="kettle-news", client_secret="...")
    """

    #: The address of the provider's ``/.well-known/openid-configuration`` document.
    discovery_url: str = ""
    #: Seconds the discovery document and keys are kept before being fetched again.
    cache_seconds: int = 3600
    _discovery: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _fetched: float = field(default=0.0, init=False, repr=False)
    _checker: IdTokenChecker | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.discovery_url.startswith(("https://", "http://")):
            raise ValueError(
                f"OIDCProvider {self.name!r} needs discovery_url=, the address of its "
                "/.well-known/openid-configuration document."
            )

    async def discovery(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """The discovery document, fetched once per ``cache_seconds``."""
        # PERF: one fetch per hour, not one per sign-in.
        if self._discovery is None or time.monotonic() - self._fetched > self.cache_seconds:
            document = await get_json(http, self.discovery_url, "discovery document")
            missing = [
                key
                for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
                if not isinstance(document, dict) or not isinstance(document.get(key), str)
            ]
            if missing:
                raise SignInError(
                    f"The discovery document of {self.title} lacks {', '.join(missing)}."
                )
            self._discovery, self._fetched = document, time.monotonic()
            self._checker = IdTokenChecker(
                issuer=document["issuer"],
                jwks_uri=document["jwks_uri"],
                client_id=self.client_id,
                algorithms=document.get("id_token_signing_alg_values_supported"),
            )
        return self._discovery

    async def endpoints(self, http: httpx.AsyncClient) -> Endpoints:
        """From the discovery document."""
        document = await self.discovery(http)
        return Endpoints(document["authorization_endpoint"], document["token_endpoint"])

    async def identify(
        self, http: httpx.AsyncClient, token: dict[str, Any], nonce: str
    ) -> Assertion:
        """The claims of the checked ID token (and the userinfo endpoint's, when the
        token carries no e-mail address)."""
        document = await self.discovery(http)
        assert self._checker is not None  # set with the document
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise SignInError(f"{self.title} sent no ID token with the access token.")
        claims = await self._checker.check(http, raw, nonce)
        userinfo = document.get("userinfo_endpoint")
        access = token.get("access_token")
        if "email" not in claims and isinstance(userinfo, str) and isinstance(access, str):
            headers = {"Authorization": f"Bearer {access}"}
            extra = await get_json(http, userinfo, "userinfo", headers=headers)
            if isinstance(extra, dict) and extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        return claims_assertion(claims)


def claims_assertion(claims: dict[str, Any]) -> Assertion:
    """An ``Assertion`` from OpenID Connect claims (``email_verified`` must be true,
    not merely present; some providers send the string ``"true"``)."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    username = claims.get("preferred_username") or claims.get("nickname") or ""
    return Assertion(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else "",
        email_verified=verified is True or verified == "true",
        username=username if isinstance(username, str) else "",
    )


@dataclass(kw_only=True)
class Google(OIDCProvider):
    """Google accounts (OpenID Connect)::

    Google(client_id="1234-abc.apps.googleusercontent.com", client_secret="...")
    """

    #: ``"google"``.
    name: str = "google"
    #: ``"Google"``.
    title: str = "Google"
    #: Google's discovery document.
    discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"


@dataclass(kw_only=True)
class GitHub(Provider):
    """GitHub accounts: OAuth 2 with no ID token, so who signed in comes from its API
    (``/user``, and ``/user/emails`` for the addresses GitHub verified). The URLs can
    point elsewhere (GitHub Enterprise, a test server)::

        GitHub(client_id="Iv1.8a61f9b3a7aba766", client_secret="...")
    """

    #: ``"github"``.
    name: str = "github"
    #: ``"GitHub"``.
    title: str = "GitHub"
    #: The profile and the e-mail addresses, read only.
    scope: str = "read:user user:email"
    #: Where the browser signs in.
    authorize_url: str = "https://github.com/login/oauth/authorize"
    #: Where the code is exchanged for an access token.
    token_url: str = "https://github.com/login/oauth/access_token"
    #: The REST API's base (``/user``, ``/user/emails`` are under it).
    api_base: str = "https://api.github.com"

    async def endpoints(self, http: httpx.AsyncClient) -> Endpoints:
        """The fixed URLs."""
        return Endpoints(self.authorize_url, self.token_url)

    async def identify(
        self, http: httpx.AsyncClient, token: dict[str, Any], nonce: str
    ) -> Assertion:
        """The user and their primary verified address from the API."""
        access = token.get("access_token")
        if not isinstance(access, str):
            raise SignInError(f"{self.title} sent no access token.")
        headers = {"Authorization": f"Bearer {access}", "Accept": "application/vnd.github+json"}
        base = self.api_base.rstrip("/")
        user = await get_json(http, f"{base}/user", "user", headers=headers)
        emails = await get_json(http, f"{base}/user/emails", "e-mail addresses", headers=headers)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int | str):
            raise SignInError(f"{self.title} did not say which user signed in.")
        rows = [row for row in emails if isinstance(row, dict)] if isinstance(emails, list) else []
        verified = [row for row in rows if row.get("verified") is True]
        primary = [row for row in rows if row.get("primary") is True]
        # The primary verified address; else the primary one, unverified (so it can only
        # ever be refused, never link); else the public one on the profile.
        chosen = sorted(verified, key=lambda row: row.get("primary") is not True) or primary
        if chosen:
            email, is_verified = str(chosen[0].get("email") or ""), chosen[0] in verified
        else:
            email, is_verified = str(user.get("email") or ""), False
        login = user.get("login")
        return Assertion(
            subject=str(user["id"]),
            email=email,
            email_verified=is_verified and bool(email),
            username=login if isinstance(login, str) else "",
        )


__all__ = [
    "Assertion",
    "Endpoints",
    "GitHub",
    "Google",
    "OIDCProvider",
    "Provider",
    "claims_assertion",
    "get_json",
]
