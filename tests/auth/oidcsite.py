"""What the sign-in-provider tests share: the test provider, a site that trusts it, and
the browser's trip through the provider (start, consent, callback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from authsite import Site, make_site

from htmlforms import csrf_from
from kettle.auth import get_user
from kettle.auth.oidc import Providers
from kettle.auth.oidc.devprovider import OpenIDProvider, running_provider
from kettle.requests import Request
from kettle.testing import TestClient


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIDProvider]:
    """One provider per test module, well-behaved again before each test (``oidc``)."""
    with running_provider() as served:
        yield served


@pytest.fixture
def site(tmp_path: Path, db_url: str, provider: OpenIDProvider) -> Iterator[Site]:
    """A site trusting the provider, on each engine in turn (replaces the auth tests'
    ``site`` in the modules that import it)."""
    built = make_oidc_site(tmp_path, db_url, provider)
    yield built
    built.db.drop_all()
    built.db.dispose()


def make_oidc_site(tmp_path: Path, url: str, provider: OpenIDProvider, **options: Any) -> Site:
    """A site whose users may sign in with ``acme`` (OpenID Connect) and ``github``."""
    provider.reset()
    built = make_site(tmp_path, url, **options)
    Providers(built.auth, [provider.oidc("acme", title="Acme"), provider.github()])

    @built.app.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        return {"username": get_user(request).username}

    built.db.drop_all()
    built.db.create_all()
    return built


def start(client: TestClient, name: str = "acme", *, page: str = "/auth/login", **form: str) -> str:
    """Press "Sign in with <name>" on ``page``: the provider's authorization URL."""
    token = csrf_from(client.get(page).text)
    response = client.post(f"/auth/oidc/{name}/start", data={"csrf_token": token, **form})
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def consent(authorize_url: str) -> str:
    """The provider's answer to the browser: the callback path with its query."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def sign_in_with(client: TestClient, name: str = "acme", **form: str) -> Any:
    """The whole trip: start, consent at the provider, and the callback's response."""
    return client.get(consent(start(client, name, **form)))


def whoami(client: TestClient) -> str:
    """The signed-in username ("" for nobody), as a page of the site sees it."""
    return str(client.get("/whoami").json()["username"])
