"""The account page in a real browser (headless Chromium against uvicorn): from the
password page's "Your account" link to the page listing every battery's entry, at
desktop and phone widths, with no Content-Security-Policy violation. Screenshots land
in ``/tmp/shots/h10/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authbrowser import VIEWPORTS, browser, open_page, password_sign_in, serving, shot
from authsite import Site
from playwright.sync_api import Browser, expect

from kettle.auth.passkeys import Passkeys
from kettle.auth.twofactor import TwoFactor

SHOTS = Path("/tmp/shots/h10")

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


def _install(site: Site) -> None:
    TwoFactor(site.auth)
    Passkeys(site.auth)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site with two-factor authentication and passkeys, on uvicorn."""
    with serving(tmp_path_factory.mktemp("account"), "account_server:app", _install) as base:
        yield base


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_account_page_lists_every_page(browser: Browser, base_url: str, width: str) -> None:
    context, page, violations = open_page(browser, width)
    try:
        password_sign_in(page, base_url, "ann" if width == "desktop" else "bob")
        expect(page.get_by_role("heading")).to_contain_text("Signed in as")
        page.goto(base_url + "/auth/password")
        shot(page, SHOTS, width, "password")
        page.get_by_role("link", name="Your account").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        entries = page.get_by_role("navigation", name="Account settings").get_by_role("link")
        expect(entries).to_have_text(
            [
                "Password",
                "API tokens",
                "E-mail address",
                "Time zone",
                "Two-factor authentication",
                "Passkeys",
            ]
        )
        shot(page, SHOTS, width, "account")
        page.get_by_role("link", name="Passkeys").click()
        expect(page).to_have_url(base_url + "/auth/passkeys")
        assert violations == []
    finally:
        context.close()
