"""The admin and the auth pages under the default strict Content-Security-Policy (no
'unsafe-inline'), in headless Chromium against a real server: every page loads, its
scripts run, and the browser reports no violation, neither on the console nor as a
``securitypolicyviolation`` event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from adminsite import PASSWORD, all_perms, make_site, seed
from playwright.sync_api import Browser, Page, expect

from browsers import launched, watched_page
from servers import running_server

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("csp")
    url = f"sqlite:///{root / 'admin.sqlite3'}"
    site = make_site(root, url)
    site.db.create_all()
    seed(site.db, 3)
    site.user("root", superuser=True)
    site.user("clerk", perms=all_perms("post"))
    site.db.dispose()
    env = {"KETTLE_TEST_ADMIN_DB": url, "KETTLE_TEST_ADMIN_ROOT": str(root)}
    with running_server(
        "admin_server:app", server="uvicorn", env=env, pythonpath=(HERE, HERE.parent)
    ) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context, page, seen = watched_page(browser)
    yield page, seen.violations
    context.close()


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status < 400, (url, response.status)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "script-src 'self'" in policy
    page.wait_for_load_state("load")


def test_the_auth_pages_run_under_the_strict_policy(
    base: str, watched: tuple[Page, list[str]]
) -> None:
    page, violations = watched
    for path in ("/auth/login", "/auth/signup", "/auth/password/reset"):
        visit(page, base + path)
        expect(page.locator("main")).to_be_visible()
    # The page's own inline style applied: the card has its rounded corners.
    radius = page.evaluate("getComputedStyle(document.querySelector('main')).borderRadius")
    assert radius == "12px"
    visit(page, base + "/auth/login")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    for path in ("/auth/password", "/auth/tokens"):
        visit(page, base + path)
    assert violations == []


def test_the_admin_runs_under_the_strict_policy(base: str, watched: tuple[Page, list[str]]) -> None:
    page, violations = watched
    visit(page, base + "/auth/login?next=/admin/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    expect(page).to_have_url(base + "/admin/")
    for path in (
        "/admin/",
        "/admin/post/",
        "/admin/post/?q=post",
        "/admin/post/add",
        "/admin/post/1/change",
        "/admin/post/1/history",
        "/admin/post/1/delete",
    ):
        visit(page, base + path)
    # admin.js ran (it marks the page "js") and its handlers work.
    visit(page, base + "/admin/post/")
    assert page.evaluate("document.documentElement.classList.contains('js')")
    page.evaluate("document.querySelector('.nav-toggle').click()")
    expect(page.locator(".nav-toggle")).to_have_attribute("aria-expanded", "true")
    missing = page.goto(base + "/admin/nowhere/")  # an error page, under the policy too
    assert missing is not None
    assert missing.status == 404
    assert violations == []
