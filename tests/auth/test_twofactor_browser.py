"""Two-factor authentication in a real browser: headless Chromium against uvicorn. Turn
it on (scan nothing: the test reads the secret shown as text and computes codes with
pyotp), sign out, sign in with the password and a code, and with a recovery code; at
desktop and phone widths, with no Content-Security-Policy violation. Screenshots land
in ``/tmp/shots/h2/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from authbrowser import VIEWPORTS, browser, open_page, password_sign_in, serving, shot
from playwright.sync_api import Browser, expect

from kettle.auth.twofactor import TwoFactor

SHOTS = Path("/tmp/shots/h2")

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site on uvicorn, its users ann and bob made first."""
    root = tmp_path_factory.mktemp("twofactor")
    with serving(root, "twofactor_server:app", lambda site: TwoFactor(site.auth)) as base:
        yield base


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_enrol_sign_out_then_sign_in_with_a_code(
    browser: Browser, base_url: str, width: str
) -> None:
    username = "ann" if width == "desktop" else "bob"
    context, page, violations = open_page(browser, width)
    try:
        password_sign_in(page, base_url, username)
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")
        page.goto(base_url + "/auth/2fa/setup")
        expect(page.locator(".qr svg")).to_be_visible()
        shot(page, SHOTS, width, "setup")
        secret = page.locator("#secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        page.get_by_label("6-digit code").fill("000000" if totp.now() != "000000" else "111111")
        page.get_by_role("button", name="Turn on").click()
        expect(page.get_by_role("alert")).to_contain_text("not right")
        shot(page, SHOTS, width, "setup-wrong-code")
        page.get_by_label("6-digit code").fill(totp.now())
        page.get_by_role("button", name="Turn on").click()
        codes = page.locator("#recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        shot(page, SHOTS, width, "recovery-codes")
        page.get_by_role("link", name="I have saved them, continue").click()
        expect(page.get_by_text("It is on")).to_be_visible()
        shot(page, SHOTS, width, "manage")

        context.clear_cookies()  # signed out
        password_sign_in(page, base_url, username)
        expect(page).to_have_url(base_url + "/auth/2fa/totp")
        shot(page, SHOTS, width, "challenge")
        page.get_by_label("6-digit code").fill(totp.at(time.time() + 30))  # a new step
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")

        context.clear_cookies()
        password_sign_in(page, base_url, username)
        page.get_by_role("link", name="A recovery code").click()
        expect(page).to_have_url(base_url + "/auth/2fa/recovery")
        shot(page, SHOTS, width, "recovery")
        page.get_by_label("Recovery code").fill(codes[0])
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")
        assert violations == []
    finally:
        context.close()
