"""Signing in with a provider in a real browser: headless Chromium, the site on uvicorn and
the stand-in provider of ``kettle.auth.oidc.devprovider`` on 127.0.0.1. Press "Sign in
with Acme" on the login page, come back signed in, see the linked account; a forged
callback shows its page. At desktop and phone widths, with no Content-Security-Policy
violation; screenshots land in ``/tmp/shots/h1/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authbrowser import VIEWPORTS, browser, open_page, serving, shot
from authsite import Site
from playwright.sync_api import Browser, expect

from kettle.auth.oidc import Providers
from kettle.auth.oidc.devprovider import Account, OpenIDProvider, running_provider

SHOTS = Path("/tmp/shots/h1")

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, OpenIDProvider]]:
    """The site on uvicorn, trusting the provider; its tables made first."""
    root = tmp_path_factory.mktemp("oidc")
    with running_provider() as provider:

        def install(site: Site) -> None:
            Providers(site.auth, [provider.oidc("acme", title="Acme")])

        env = {"KETTLE_TEST_OIDC_PROVIDER": provider.url}
        with serving(root, "oidc_server:app", install, env, users=()) as base:
            yield base, provider


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_sign_in_with_acme(
    browser: Browser, served: tuple[str, OpenIDProvider], width: str
) -> None:
    base_url, provider = served
    name = "ann" if width == "desktop" else "bob"
    provider.account = Account(
        sub=f"acme-{name}", email=f"{name}@example.org", preferred_username=name
    )
    context, page, violations = open_page(browser, width)
    try:
        page.goto(base_url + "/auth/login")
        expect(page.get_by_role("button", name="Sign in with Acme")).to_be_visible()
        shot(page, SHOTS, width, "login")
        page.get_by_role("button", name="Sign in with Acme").click()
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {name}")
        assert ("POST", "/token") in provider.log

        page.goto(base_url + "/auth/identities")
        expect(page.get_by_role("heading", level=1)).to_have_text("Linked sign-in accounts")
        expect(page.get_by_text(f"{name}@example.org")).to_be_visible()
        shot(page, SHOTS, width, "identities")
        page.get_by_role("button", name="Unlink Acme").click()
        expect(page.get_by_role("alert")).to_contain_text("your only way to sign in")
        shot(page, SHOTS, width, "unlink-refused")

        context.clear_cookies()
        page.goto(base_url + "/auth/oidc/acme/callback?code=stolen&state=forged")
        expect(page.get_by_role("heading")).to_have_text("This sign-in link is not valid")
        shot(page, SHOTS, width, "forged-state")
        page.get_by_role("link", name="Back to sign in").click()
        expect(page.get_by_role("button", name="Sign in with Acme")).to_be_visible()
        assert violations == []
    finally:
        context.close()
