"""Signing a test client in and out with kettle.auth, without its login form.

``force_login`` runs ``Auth.alogin`` (the login path of the real pages: a new session
id, a new CSRF secret, the password hash kept in the session) on a small request made
here, then stores the session through the app's session backend (signed cookie or
database rows) and gives the client the cookie the app would have set.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

from kettle.exceptions import ConfigurationError
from kettle.requests import Request
from kettle.responses.base import Response
from kettle.sessions import Session

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.auth.core import Auth

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def auth_of(app: Any) -> Auth:
    """The app's ``Auth``; a clear error for an app without kettle.auth."""
    from kettle.auth.core import Auth

    auth = getattr(getattr(app, "state", None), "auth", None)
    if not isinstance(auth, Auth):
        raise ConfigurationError(
            "The test client's login(), force_login() and logout() sign users in with "
            "kettle.auth, and this app has no Auth: create `Auth(app)` in the app."
        )
    return auth


def csrf_field(html: str) -> dict[str, str]:
    """The ``csrf_token`` field of a page's form, to post it back (empty if none)."""
    match = _TOKEN.search(html)
    return {"csrf_token": match[1]} if match else {}


def _request(app: App, base_url: httpx.URL, cookie: str | None) -> Request:
    headers = [(b"host", base_url.netloc)]
    if cookie is not None:
        headers.append((b"cookie", f"{app.config.session_cookie}={cookie}".encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": base_url.scheme,
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": (base_url.host, base_url.port or 80),
        "http_version": "1.1",
    }

    async def no_body() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, no_body, app)


async def _session(app: App, request: Request, cookie: str | None) -> Session:
    backend = app.session_backend
    assert backend is not None
    data = await backend.load(cookie) if cookie else None
    session = Session(data, cookie if data is not None else None)
    request.session_data = session
    return session


async def _store(app: App, session: Session, cookies: httpx.Cookies, base_url: httpx.URL) -> None:
    """Save ``session`` as the app does at the end of a request; the cookie goes to
    ``cookies`` as if the app had sent it."""
    response = Response(b"")
    await app._save_session(session, response)  # the app's own rules, as after a request
    sent = httpx.Response(200, headers=response.raw_headers, request=httpx.Request("GET", base_url))
    cookies.extract_cookies(sent)


async def force_login(app: Any, user: Any, cookies: httpx.Cookies, base_url: httpx.URL) -> None:
    """Sign ``user`` in on the session of ``cookies`` (see the module docstring)."""
    auth = auth_of(app)
    app.build()
    cookie = cookies.get(app.config.session_cookie)
    request = _request(app, base_url, cookie)
    session = await _session(app, request, cookie)
    async with auth.db.async_session():
        await auth.alogin(request, user)
    await _store(app, session, cookies, base_url)


async def logout(app: Any, cookies: httpx.Cookies, base_url: httpx.URL) -> None:
    """End the session of ``cookies`` as ``Auth.logout`` does (and drop the cookie)."""
    auth = auth_of(app)
    app.build()
    cookie = cookies.get(app.config.session_cookie)
    request = _request(app, base_url, cookie)
    session = await _session(app, request, cookie)
    auth.logout(request)
    await _store(app, session, cookies, base_url)


__all__ = ["auth_of", "csrf_field", "force_login", "logout"]
