"""The news site under the default strict Content-Security-Policy (no 'unsafe-inline'):
its pages, signed out and signed in as the demo editor, load in headless Chromium with no
violation reported, on the console or as a ``securitypolicyviolation`` event.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browserserver import NewsServer, news_server
from playwright.sync_api import Browser, Page

from browsers import launched, watched_page

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewsServer]:
    with news_server(tmp_path_factory.mktemp("news-csp")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status < 400, (url, response.status)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    page.wait_for_load_state("load")


def test_the_news_site_runs_under_the_strict_policy(server: NewsServer, browser: Browser) -> None:
    context, page, seen = watched_page(browser, 1280, 800)
    base = server.url
    for path in ("/", "/new", "/top", "/submit", "/auth/login", "/auth/signup"):
        visit(page, base + path)
    article = page.goto(base + "/")
    assert article is not None
    link = page.locator("a[href^='/articles/']").first
    href = link.get_attribute("href")
    assert href is not None
    visit(page, base + href)
    username, password = server.accounts["editor"]
    visit(page, base + "/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state("load")
    for path in ("/", "/submit", href, "/auth/tokens", "/admin/"):
        visit(page, base + path)
    context.close()
    assert seen.violations == []
