"""E-mail verification in a real browser (headless Chromium against uvicorn), with
mandatory verification: sign up, be refused at login, follow the mailed link, confirm,
sign in; at desktop and phone widths, with no Content-Security-Policy violation.
Screenshots land in ``/tmp/shots/h4/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from authbrowser import VIEWPORTS, browser, open_page, password_sign_in, serving, shot
from authsite import PASSWORD
from playwright.sync_api import Browser, expect

SHOTS = Path("/tmp/shots/h4")
LINK = re.compile(r"To: (\S+)\n(?:.*\n)*?(https?://\S+/auth/email/verify/\S+)")

pytestmark = pytest.mark.server
__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The site on uvicorn, and the file its mail goes to."""
    root = tmp_path_factory.mktemp("verification")
    with serving(root, "verification_server:app") as base:
        yield base, root / "outbox.txt"


def mailed_link(outbox: Path, address: str) -> str:
    links = [link for to, link in LINK.findall(outbox.read_text()) if to == address]
    assert links, outbox.read_text()
    return links[-1]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_sign_up_follow_the_link_then_sign_in(
    browser: Browser, served: tuple[str, Path], width: str
) -> None:
    base_url, outbox = served
    username = f"reader-{width}"
    address = f"{username}@example.org"
    context, page, violations = open_page(browser, width)
    try:
        page.goto(base_url + "/auth/signup")
        page.get_by_label("Username").fill(username)
        page.get_by_label("E-mail address").fill(address)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the account").click()
        expect(page.get_by_role("heading")).to_have_text("Check your e-mail")
        shot(page, SHOTS, width, "verify-sent")

        password_sign_in(page, base_url, username)
        expect(page.get_by_role("alert")).to_contain_text("Verify your e-mail address first")
        shot(page, SHOTS, width, "verify-login-refused")

        page.goto(mailed_link(outbox, address))
        expect(page.get_by_role("heading")).to_have_text("Confirm your e-mail address")
        shot(page, SHOTS, width, "verify-confirm")
        page.get_by_role("button", name=f"Confirm {address}").click()
        expect(page.get_by_role("status")).to_contain_text(f"{address} is verified")
        shot(page, SHOTS, width, "verify-done")

        password_sign_in(page, base_url, username)
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {username}")
        page.goto(base_url + "/auth/email")
        expect(page.get_by_text("(verified)")).to_be_visible()
        shot(page, SHOTS, width, "email-change")
        page.goto(base_url + "/auth/time-zone")
        page.get_by_label("Time zone").select_option("Europe/Paris")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#shown-zone")).to_have_text("Europe/Paris")
        shot(page, SHOTS, width, "time-zone")

        page.goto(mailed_link(outbox, address))  # the link again: it worked once
        expect(page.get_by_role("alert")).to_contain_text("already used")
        shot(page, SHOTS, width, "verify-used")
        assert violations == []
    finally:
        context.close()
