"""The browser's time zone in the admin (headless Chromium against uvicorn): the page's
script stores the zone Chromium runs in (``timezone_id``) in a cookie, and the next page
shows every datetime in it, the zone named; at desktop and phone widths, with no
Content-Security-Policy violation. Screenshots land in ``/tmp/shots/h4/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adminsite import PASSWORD, make_site, seed
from playwright.sync_api import Browser, BrowserContext, expect

from browsers import launched, watched_page
from kettle.timezones import COOKIE
from servers import running_server

SHOTS = Path("/tmp/shots/h4")
HERE = Path(__file__).resolve().parent
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test admin on uvicorn, with a few posts and the superuser root."""
    root = tmp_path_factory.mktemp("admin-zones")
    url = f"sqlite:///{root / 'admin.sqlite3'}"
    site = make_site(root, url)
    site.db.create_all()
    seed(site.db, 3)
    site.user("root", superuser=True)
    site.db.dispose()
    env = {"KETTLE_TEST_ADMIN_DB": url, "KETTLE_TEST_ADMIN_ROOT": str(root)}
    with running_server(
        "admin_server:app", server="uvicorn", env=env, pythonpath=(HERE, HERE.parent)
    ) as base:
        yield base


def cookie_of(context: BrowserContext) -> str | None:
    """The zone cookie once the page's deferred script set it (polled: the admin's CSP
    forbids the eval that ``wait_for_function`` uses)."""
    for _ in range(50):
        found = {c["name"]: c["value"] for c in context.cookies()}.get(COOKIE)
        if found is not None:
            return found
        time.sleep(0.1)
    return None


@pytest.mark.parametrize(
    ("width", "zone", "abbreviations"),
    [("desktop", "America/New_York", r"E[SD]T"), ("phone", "Asia/Tokyo", r"JST")],
)
def test_the_admin_shows_the_browsers_zone(
    browser: Browser, base_url: str, width: str, zone: str, abbreviations: str
) -> None:
    w, h = VIEWPORTS[width]
    context, page, seen = watched_page(browser, w, h, timezone_id=zone)
    try:
        page.goto(base_url + "/admin/")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
        expect(page).to_have_url(base_url + "/admin/")
        assert cookie_of(context) == zone
        page.goto(base_url + "/admin/post/")
        cells = page.locator("td", has_text=re.compile(rf"\d\d:\d\d {abbreviations}"))
        expect(cells.first).to_be_visible()
        if width == "desktop":
            expect(page.locator("#time-zone")).to_have_text(zone)
        assert page.evaluate("document.documentElement.scrollWidth") <= w
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"admin-zone-{width}.png"), full_page=True)
        assert seen.violations == []
    finally:
        context.close()
