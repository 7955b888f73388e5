"""The passkey script in French in a real browser (headless Chromium against uvicorn):
the sentences it shows come from the page (data-message-*), so a cancelled passkey
request and a browser without passkeys are explained in French. Screenshots land in
``test-output/passkeys/``."""

# ruff: noqa: RUF001 - French is written with typographic apostrophes, as shipped.

from __future__ import annotations

from collections.abc import Iterator

import pytest
from authbrowser import browser, open_page, password_sign_in, serving, shot
from playwright.sync_api import Browser, expect
from test_passkeys_browser import AUTHENTICATOR, NO_AUTOFILL

from kettle.auth.passkeys import Passkeys
from servers import REPO_ROOT

SHOTS = REPO_ROOT / "test-output" / "passkeys"
CANCELLED = "La demande de clé d’accès a été annulée ou a expiré. Réessayez quand vous serez prêt."

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site with passkeys and I18n on uvicorn, at http://localhost:<port>."""
    root = tmp_path_factory.mktemp("passkeys-i18n")
    with serving(root, "passkey_i18n_server:app", lambda site: Passkeys(site.auth)) as base:
        yield base.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_cancelled_passkey_request_is_explained_in_french(
    browser: Browser, base_url: str, width: str
) -> None:
    """The authenticator holds no passkey for the site, so Chromium refuses the request
    (NotAllowedError, as when a person cancels it): the button's error is in French."""
    context, page, violations = open_page(browser, width)
    page.add_init_script(NO_AUTOFILL)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    try:
        page.goto(base_url + "/fr/auth/login")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.get_by_role("button", name="Se connecter avec une clé d’accès").click()
        expect(page.get_by_role("alert")).to_have_text(CANCELLED)
        shot(page, SHOTS, width, "login-cancelled-fr")
        assert violations == []
    finally:
        context.close()


def test_without_passkeys_the_page_says_so_in_french(browser: Browser, base_url: str) -> None:
    context, page, violations = open_page(browser, "phone")
    page.add_init_script("delete window.PublicKeyCredential;")
    try:
        password_sign_in(page, base_url, "ann")
        page.goto(base_url + "/fr/auth/passkeys")
        expect(page.get_by_role("heading", name="Vos clés d’accès")).to_be_visible()
        expect(page.get_by_role("button", name="Ajouter une clé d’accès")).to_be_hidden()
        note = "Pour ajouter une clé d’accès, il faut JavaScript"
        expect(page.get_by_text(note)).to_be_visible()
        shot(page, SHOTS, "phone", "account-unsupported-fr")
        assert violations == []
    finally:
        context.close()
