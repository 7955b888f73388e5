"""Passkeys in a real browser: headless Chromium with its virtual authenticator (CDP
``WebAuthn.addVirtualAuthenticator``) against uvicorn. Register a passkey on the account
page, sign out, sign in with it alone, then use it as the second factor after the
password; at desktop and phone widths, with no Content-Security-Policy violation.
Screenshots land in ``test-output/passkeys/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from authbrowser import VIEWPORTS, browser, open_page, password_sign_in, serving, shot
from authsite import PASSWORD
from playwright.sync_api import Browser, BrowserContext, Page, expect

from kettle.auth.passkeys import Passkeys
from servers import REPO_ROOT

SHOTS = REPO_ROOT / "test-output" / "passkeys"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site on uvicorn, at http://localhost:<port> (WebAuthn needs a secure context
    and a domain name: localhost is both)."""
    root = tmp_path_factory.mktemp("passkeys")
    with serving(root, "passkey_server:app", lambda site: Passkeys(site.auth)) as base:
        yield base.replace("127.0.0.1", "localhost")


#: A browser without conditional mediation (passkeys in autofill): Chromium's virtual
#: authenticator answers a conditional request at once, which would sign in before the
#: button or the password could be tried.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


def _context(
    browser: Browser, width: str, autofill: bool = False
) -> tuple[BrowserContext, Page, list[str]]:
    """A page at ``width`` with a virtual authenticator that verifies the user; without
    passkeys in the username field's autofill unless ``autofill``."""
    context, page, violations = open_page(browser, width)
    if not autofill:
        page.add_init_script(NO_AUTOFILL)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return context, page, violations


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_register_then_sign_in_with_the_passkey(
    browser: Browser, base_url: str, width: str
) -> None:
    username = "ann" if width == "desktop" else "bob"
    context, page, violations = _context(browser, width)
    try:
        password_sign_in(page, base_url, username)
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")
        page.goto(base_url + "/auth/passkeys")
        expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
        expect(page.get_by_text("needs JavaScript")).to_be_hidden()
        shot(page, SHOTS, width, "account-empty")
        add = page.get_by_role("button", name="Add a passkey")
        add.click()  # no name: the server says so, the page shows it
        expect(page.get_by_role("alert")).to_contain_text("This field is required.")
        page.get_by_label("Name", exact=True).fill("Work laptop")
        page.get_by_label("Your password").fill("not it")
        add.click()
        expect(page.get_by_role("alert")).to_contain_text("not your current password")
        shot(page, SHOTS, width, "account-error")
        page.get_by_label("Your password").fill(PASSWORD)
        add.click()
        expect(page.get_by_text("The passkey Work laptop was added.")).to_be_visible()
        expect(page.get_by_role("heading", name="Work laptop")).to_be_visible()
        shot(page, SHOTS, width, "account-one-passkey")

        context.clear_cookies()  # signed out
        page.goto(base_url + "/auth/login?next=/")
        button = page.get_by_role("button", name="Sign in with a passkey")
        expect(button).to_be_visible()
        shot(page, SHOTS, width, "login")
        button.click()
        expect(page).to_have_url(base_url + "/")
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")

        context.clear_cookies()  # the password, then the passkey as the second factor
        password_sign_in(page, base_url, username)
        expect(page).to_have_url(base_url + "/auth/2fa/passkey")
        shot(page, SHOTS, width, "second-factor")
        page.get_by_role("button", name="Use my passkey").click()
        expect(page).to_have_url(base_url + "/")
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")

        page.goto(base_url + "/auth/passkeys")
        rename = page.get_by_label("New name for Work laptop")
        rename.fill("Old laptop")
        page.get_by_role("button", name="Rename").click()
        expect(page.get_by_text("The passkey is now called Old laptop.")).to_be_visible()
        page.get_by_role("button", name="Remove Old laptop").click()
        expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
        assert violations == []
    finally:
        context.close()


def test_without_webauthn_the_buttons_stay_hidden(browser: Browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.add_init_script("delete window.PublicKeyCredential;")
    try:
        page.goto(base_url + "/auth/login")
        expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    finally:
        context.close()


def test_the_login_page_offers_the_passkey_in_autofill(browser: Browser, base_url: str) -> None:
    """Conditional mediation: the username field's autofill holds the passkey; the
    virtual authenticator answers the quiet request at once, as a person picking it from
    the list would, and the page signs in without the button."""
    context, page, violations = _context(browser, "desktop", autofill=True)
    try:
        password_sign_in(page, base_url, "ann")
        expect(page.get_by_role("heading")).to_have_text("Signed in as ann")
        page.goto(base_url + "/auth/passkeys")
        page.get_by_label("Name", exact=True).fill("Autofill key")
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("heading", name="Autofill key")).to_be_visible()

        context.clear_cookies()  # signed out
        page.goto(base_url + "/auth/login?next=/")
        expect(page).to_have_url(base_url + "/")
        expect(page.get_by_role("heading")).to_have_text("Signed in as ann")
        assert violations == []
    finally:
        context.close()
    context, page, violations = open_page(browser, "phone")  # no authenticator: it waits
    try:
        page.goto(base_url + "/auth/login")
        field = page.get_by_label("Username")
        expect(field).to_have_attribute("autocomplete", "username webauthn")
        shot(page, SHOTS, "phone", "login-autofill")
        assert violations == []
    finally:
        context.close()
