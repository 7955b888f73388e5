"""Users' passkeys in the admin, in headless Chromium against uvicorn: ann adds a passkey
with the virtual authenticator, then a superuser finds it in the admin (its own list and
ann's page) and deletes it from ann's page. At desktop and phone widths, with no
Content-Security-Policy violation; screenshots land in ``test-output/passkeys-admin/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authbrowser import VIEWPORTS, browser, open_page, password_sign_in, serving, shot
from authsite import PASSWORD, Site, make_site
from playwright.sync_api import Browser, expect
from test_passkeys_browser import AUTHENTICATOR

from kettle.admin import AdminSite
from kettle.auth.passkeys import Passkeys
from servers import REPO_ROOT

SHOTS = REPO_ROOT / "test-output" / "passkeys-admin"

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site on uvicorn at http://localhost:<port>, with ann, bob and root (a
    superuser)."""
    root = tmp_path_factory.mktemp("passkeys-admin")
    with serving(root, "passkey_admin_server:app", _tables) as base:
        _superuser(root)
        yield base.replace("127.0.0.1", "localhost")


def _tables(site: Site) -> None:
    """What the server's site declares, for ``serving`` to make its tables."""
    Passkeys(site.auth)
    AdminSite(site.app)  # the admin's history


def _superuser(root: Path) -> None:
    site = make_site(root, f"sqlite:///{root / 'site.sqlite3'}")
    site.user("root", is_staff=True, is_superuser=True)
    site.db.dispose()


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_a_superuser_sees_and_deletes_a_users_passkey(
    browser: Browser, base_url: str, width: str
) -> None:
    owner = "ann" if width == "desktop" else "bob"
    key = f"{owner}'s {width}"
    context, page, violations = open_page(browser, width)
    try:  # the owner's browser, with its authenticator
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        password_sign_in(page, base_url, owner)
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {owner}")
        page.goto(base_url + "/auth/passkeys")
        page.get_by_label("Name", exact=True).fill(key)
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("heading", name=key)).to_be_visible()
        assert violations == []
    finally:
        context.close()
    context, page, violations = open_page(browser, width)
    try:  # the superuser's
        password_sign_in(page, base_url, "root")
        expect(page.get_by_role("heading")).to_have_text("Signed in as root")
        page.goto(base_url + "/admin/auth_user_passkey/")
        row = page.get_by_role("row").filter(has_text=key)
        expect(row).to_contain_text(owner)
        expect(page.get_by_role("columnheader", name="Sign count")).to_be_visible()
        expect(page.get_by_role("columnheader", name="Last used")).to_be_visible()
        adding = page.locator('a[href$="/admin/auth_user_passkey/add"]')
        expect(adding).to_have_count(0)  # staff never add one
        shot(page, SHOTS, width, "passkey-list")

        page.goto(base_url + "/admin/auth_user/?q=" + owner)
        page.get_by_role("link", name=owner, exact=True).click()
        inline = page.get_by_role("row").filter(has_text=key)
        expect(inline).to_be_visible()
        shot(page, SHOTS, width, "user-page")
        inline.get_by_label("Delete").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page).to_have_url(re.compile(r"/admin/auth_user/$"))
        page.goto(base_url + "/admin/auth_user_passkey/")
        expect(page.get_by_role("row").filter(has_text=key)).to_have_count(0)
        assert violations == []
    finally:
        context.close()
