"""What the two-factor tests share: the test site with ``TwoFactor`` and a client that
signs in, enrols and answers challenges with codes computed by pyotp."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
from authsite import PASSWORD, Site, make_site

from htmlforms import csrf_from
from kettle.auth.twofactor import TwoFactor, TwoFactorOptions
from kettle.testing import TestClient

_SECRET = re.compile(r'id="secret">([A-Z2-7 ]+)<')
_CODES = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")


def make_two_factor_site(tmp_path: Path, url: str, **options: Any) -> tuple[Site, TwoFactor]:
    """The auth test site with ``TwoFactor(auth, options=TwoFactorOptions(**options))``."""
    site = make_site(tmp_path, url)
    two_factor = TwoFactor(site.auth, options=TwoFactorOptions(**options))
    return site, two_factor


def token(client: TestClient) -> str:
    """A CSRF token of the client's session (from a page every visitor can see)."""
    return csrf_from(client.get("/auth/password/reset").text)


def password(client: TestClient, username: str = "ann", next_url: str = "/") -> Any:
    """Post the login form; the response (303 to the challenge, or signed in)."""
    form = {"username": username, "password": PASSWORD, "next": next_url}
    return client.post("/auth/login", data={**form, "csrf_token": token(client)})


def code_at(secret: str, step_offset: int = 0) -> str:
    """The code of ``secret`` for the current time step (plus ``step_offset``)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * step_offset)


def enrol(client: TestClient) -> tuple[str, list[str]]:
    """Turn the authenticator on for the signed-in (or pending) user of ``client``;
    ``(secret, recovery codes)``."""
    page = client.get("/auth/2fa/setup")
    assert page.status_code == 200, page.text
    match = _SECRET.search(page.text)
    assert match is not None, page.text
    secret = match.group(1).replace(" ", "")
    form = {"code": code_at(secret), "csrf_token": csrf_from(page.text)}
    done = client.post("/auth/2fa/setup", data=form)
    assert done.status_code == 200, done.text
    return secret, recovery_codes(done.text)


def recovery_codes(html: str) -> list[str]:
    """The recovery codes a page shows."""
    return _CODES.findall(html)


def answer(client: TestClient, code: str, kind: str = "totp") -> Any:
    """Post ``code`` to the challenge of ``kind``."""
    return client.post(f"/auth/2fa/{kind}", data={"code": code, "csrf_token": token(client)})


def whoami(client: TestClient) -> bool:
    """Whether the client is signed in (the password page is for signed-in users)."""
    return client.get("/auth/password").status_code == 200
