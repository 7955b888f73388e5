"""The authorization-code flow with PKCE, ``state`` and ``nonce``, kept in the session.

``begin`` makes the secrets of one sign-in and the address to send the browser to;
``take`` finds them again when the provider sends the browser back (once: a flow is
removed from the session as it is read, and is refused after ``FLOW_SECONDS``); ``finish``
exchanges the code for tokens and asks the provider who signed in::

    url = await begin(request, provider, redirect_uri, purpose="login", next_url="/")
    flow = take(request, state)            # None: forged, replayed or expired
    assertion = await finish(provider, flow, code, redirect_uri)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import httpx
from authlib.oauth2.rfc6749.parameters import (  # type: ignore[import-untyped]  # no hints
    prepare_grant_uri,
)
from authlib.oauth2.rfc7636 import (  # type: ignore[import-untyped]  # no hints
    create_s256_code_challenge,
)

from kettle.auth.oidc.idtoken import SignInError
from kettle.auth.oidc.providers import Assertion, Provider
from kettle.requests import Request

#: The session key holding the flows under way, by ``state``.
SESSION_FLOWS = "_oidc_flows"
#: How long the browser may take at the provider, in seconds.
FLOW_SECONDS = 10 * 60
#: The most flows one session keeps (tabs); the oldest goes first.
MAX_FLOWS = 5
Purpose = Literal["login", "link"]


@dataclass(frozen=True)
class Flow:
    """One sign-in under way: what the callback needs to finish and check it."""

    provider: str
    state: str
    nonce: str
    verifier: str
    purpose: Purpose
    next_url: str
    #: The signed-in user who asked to link a provider (``purpose="link"``).
    user_id: int | None
    started: float


def http_client(provider: Provider) -> httpx.AsyncClient:
    """The HTTP client of one step of the flow (no redirects followed, short timeouts)."""
    return httpx.AsyncClient(timeout=provider.timeout, follow_redirects=False)


async def begin(
    request: Request,
    provider: Provider,
    redirect_uri: str,
    *,
    purpose: Purpose,
    next_url: str,
    user_id: int | None = None,
) -> str:
    """Keep a new flow in the session; returns the provider's authorization URL."""
    flow = Flow(
        provider=provider.name,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(64),  # 86 characters: RFC 7636 asks 43 to 128
        purpose=purpose,
        next_url=next_url,
        user_id=user_id,
        started=time.time(),
    )
    async with http_client(provider) as http:
        endpoints = await provider.endpoints(http)
    extra: dict[str, str] = {"nonce": flow.nonce} if provider.uses_openid else {}
    url: str = prepare_grant_uri(
        endpoints.authorize,
        provider.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=provider.scope,
        state=flow.state,
        code_challenge=create_s256_code_challenge(flow.verifier),
        code_challenge_method="S256",
        **extra,
    )
    flows = {k: v for k, v in _flows(request).items() if _fresh(v)}
    flows[flow.state] = asdict(flow)
    request.session[SESSION_FLOWS] = dict(list(flows.items())[-MAX_FLOWS:])
    return url


def _flows(request: Request) -> dict[str, Any]:
    flows = request.session.get(SESSION_FLOWS)
    return flows if isinstance(flows, dict) else {}


def _fresh(stored: Any) -> bool:
    started = stored.get("started") if isinstance(stored, dict) else None
    return isinstance(started, int | float) and time.time() - started < FLOW_SECONDS


def take(request: Request, state: str) -> Flow | None:
    """The flow of ``state``, removed from the session; None when there is none (a forged
    or replayed ``state``) or it is older than ``FLOW_SECONDS``."""
    flows = _flows(request)
    if not state or state not in flows:
        return None
    stored = flows.pop(state)
    if flows:
        request.session[SESSION_FLOWS] = flows  # NOTE: reassigned, so the session is saved
    else:
        request.session.pop(SESSION_FLOWS, None)
    if not _fresh(stored):
        return None
    try:
        return Flow(**stored)
    except TypeError:  # a session written by another version
        return None


async def finish(provider: Provider, flow: Flow, code: str, redirect_uri: str) -> Assertion:
    """Exchange ``code`` (with the PKCE verifier) and identify the person; raises
    ``SignInError`` when the provider refuses or its answer does not check out."""
    async with http_client(provider) as http:
        endpoints = await provider.endpoints(http)
        # NOTE: the client authenticates in the body (client_secret_post), which GitHub,
        # Google and the common OpenID providers all accept.
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        }
        try:
            response = await http.post(
                endpoints.token, data=data, headers={"Accept": "application/json"}
            )
            token = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInError(f"{provider.title} could not be reached ({error}).") from error
        if not isinstance(token, dict):
            raise SignInError(f"{provider.title} answered the code with no token.")
        if response.status_code != 200 or "error" in token:
            raise SignInError(
                f"{provider.title} refused the sign-in code: {describe_error(token)}."
            )
        return await provider.identify(http, token, flow.nonce)


def describe_error(params: Any) -> str:
    """A provider's ``error`` and ``error_description``, as words (and nothing else)."""
    error = params.get("error") if hasattr(params, "get") else None
    text = str(error or "no reason given")[:100]
    description = params.get("error_description") if hasattr(params, "get") else None
    return f"{text} ({str(description)[:200]})" if description else text


__all__ = [
    "FLOW_SECONDS",
    "MAX_FLOWS",
    "SESSION_FLOWS",
    "Flow",
    "begin",
    "describe_error",
    "finish",
    "take",
]
