"""The JSON API's tokens (routes on ``news.api.group``): issue, list, revoke.

``POST /api/tokens`` trades ``{"username", "password"}`` (and optionally a ``name`` and
``expires_in_days``, 1 to 365; left out, the site's default of 90) for a token, shown
once; it is throttled like the login page. With the token as ``Authorization: Bearer``:

- ``GET /api/tokens`` lists the caller's tokens (never their hashes);
- ``DELETE /api/tokens/<id>`` revokes one of them (someone else's is a 404);
- ``DELETE /api/tokens`` or ``/api/tokens/current`` revokes the token of the request.

Changing or resetting the password revokes every token of the account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from kettle import HTTPException, Request, csrf_exempt
from kettle.auth import AbstractApiToken, ApiToken, get_api_token, login_required, rate_limit
from kettle.auth.account_tokens import NAME_LENGTH, name_problem
from kettle.auth.ratelimit import client_address
from news.api import group
from news.web import settings_of, signed_in


class TokenRequest(msgspec.Struct):
    username: str
    password: str
    name: str = "API client"
    expires_in_days: int | None = None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def token_json(token: AbstractApiToken, current: AbstractApiToken | None = None) -> dict[str, Any]:
    """A token as the API sends it: what it is and when it was used, never its hash."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created": _iso(token.created),
        "last_used": _iso(token.last_used),
        "expires": _iso(token.expires),
        "revoked": _iso(token.revoked),
        "state": token.state,
        "current": current is not None and current.id == token.id,
    }


def _lifetime(request: Request, days: int | None) -> dt.timedelta | None:
    """The lifetime asked for, within the site's bounds (None: the default)."""
    if days is None:
        return None
    longest = request.app.state.auth.options.token_max_lifetime.days
    if not 1 <= days <= longest:
        raise HTTPException(
            422,
            f"expires_in_days must be between 1 and {longest} (it was {days}); leave it "
            "out for the site's default lifetime.",
        )
    return dt.timedelta(days=days)


def _token_rate(request: Request) -> str:
    return settings_of(request).news_token_rate


@group.post("/tokens")
@csrf_exempt  # the credentials are in the body: no cookie acts for the caller here
@rate_limit(_token_rate, key=client_address, scope="news:tokens")
async def issue_token(request: Request, credentials: TokenRequest) -> Any:
    """Trade a username and password for an API token (shown once)."""
    lifetime = _lifetime(request, credentials.expires_in_days)
    problem = name_problem(credentials.name)
    if problem is not None:
        raise HTTPException(422, f"name must be 1 to {NAME_LENGTH} printable characters. {problem}")
    auth = request.app.state.auth
    address = request.client.host if request.client is not None else None
    wait = await auth.throttle.blocked(credentials.username, address)
    if wait:
        raise HTTPException(
            429,
            f"Too many failed attempts. Try again in {wait} seconds.",
            {"Retry-After": str(wait)},
        )
    user = await auth.aauthenticate(credentials.username, credentials.password)
    if user is None:
        await auth.throttle.failed(credentials.username, address)
        raise HTTPException(401, "Wrong username or password (both are case-sensitive).")
    await auth.throttle.succeeded(credentials.username, address)
    if lifetime is None:
        token, raw = await ApiToken.aissue(user, credentials.name)
    else:
        token, raw = await ApiToken.aissue(user, credentials.name, expires_in=lifetime)
    body = {"token": raw, "username": user.username, "type": "Bearer"}
    return {**body, "id": token.id, "name": token.name, "expires": _iso(token.expires)}, 201


@group.get("/tokens")
@login_required
async def list_tokens(request: Request) -> Any:
    """The caller's tokens, newest first; ``current`` marks the one of this request."""
    query = ApiToken.objects.filter(user_id=signed_in(request).id).order_by("-created", "-id")
    current = get_api_token(request)
    return {"tokens": [token_json(token, current) for token in await query.alist()]}


@group.delete("/tokens/<int:id>")
@login_required
async def revoke_token(request: Request, id: int) -> Any:
    """Revoke one of the caller's tokens; another user's is a 404."""
    token = await ApiToken.objects.filter(id=id, user_id=signed_in(request).id).afirst()
    if token is None:
        raise HTTPException(404, f"You have no API token with id {id}.")
    await token.arevoke()
    return token_json(token, get_api_token(request))


@group.delete("/tokens", name="revoke_this_token")
@group.delete("/tokens/current")
@login_required
async def revoke_current_token(request: Request) -> Any:
    """Revoke the token this request was signed in with ("sign this client out")."""
    token = get_api_token(request)
    if token is None:
        raise HTTPException(
            400,
            "This request was not signed in with an API token, so there is none to revoke: "
            "send it as `Authorization: Bearer <token>`, or revoke one by id with "
            "DELETE /api/tokens/<id>.",
        )
    await token.arevoke()
    return token_json(token, token)


__all__ = [
    "TokenRequest",
    "issue_token",
    "list_tokens",
    "revoke_current_token",
    "revoke_token",
    "token_json",
]
