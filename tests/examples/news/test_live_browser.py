"""Issue #19, the news site goes live: two server processes (uvicorn and Granian) on one
SQLite file, broadcasting through Redis, and headless Chromium with a person on each.

A vote and a comment made on one server's page show up, without a reload, on the pages
open on the other: a signed-in member's (whose copy of the comment has working vote and
reply forms) and a signed-out reader's on a phone. Screenshots of both go to
``test-output/news/live-*.png``; no page breaks the Content-Security-Policy.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browserserver import SERVER_ENV, demo_accounts
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from seedhelpers import NEWS, SMALL, news

from browsers import launched, watch
from servers import REPO_ROOT, running_server

SHOTS = REPO_ROOT / "test-output" / "news"
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "kettles whistle at 100 degrees"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class Pair:
    """The two servers of one site: ``one`` (uvicorn) and ``two`` (Granian)."""

    one: str
    two: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root: Path = tmp_path_factory.mktemp("news-live")
    url = f"sqlite:///{root / 'news.sqlite3'}"
    demo_accounts(news("demo", "--no-serve", url=url, counts=SMALL).stdout)
    env = {
        **SERVER_ENV,
        "DATABASE_URL": url,
        "KETTLE_BROADCAST_URL": REDIS_URL,
        # Each run its own channels (and caches) on the shared Redis.
        "KETTLE_NEWS_CACHE_PREFIX": "news-live-" + uuid.uuid4().hex,
    }
    # NOTE: a longer start-up allowance than one server needs: two start on a busy machine.
    serve = functools.partial(
        running_server, "news.app:app", env=env, cwd=NEWS, pythonpath=(NEWS,), timeout=60
    )
    with serve(server="uvicorn") as one, serve(server="granian") as two:
        yield Pair(one, two)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


class Person:
    """One browser context (one person), with every CSP violation its pages report."""

    def __init__(self, browser: Browser, viewport: ViewportSize) -> None:
        self.context: BrowserContext = browser.new_context(viewport=viewport)
        self.violations = watch(self.context).violations

    def page(self, url: str) -> Page:
        page = self.context.new_page()
        page.set_default_timeout(10_000)
        page.goto(url)
        return page

    def sign_up(self, base: str, username: str) -> None:
        page = self.page(base + "/auth/signup")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the account").click()
        expect(page.get_by_role("banner").get_by_role("link", name=username)).to_be_visible()
        page.close()


def live(page: Page) -> None:
    """Wait until the page's socket is open (live.js marks <html data-live="open">), and
    mark the page: ``not_reloaded`` checks the mark is still there."""
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    page.evaluate("window.__stayed = true")


def not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"


def shot(page: Page, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"live-{name}.png"), full_page=True)


def test_votes_and_comments_reach_the_other_servers_pages(browser: Browser, pair: Pair) -> None:
    suffix = uuid.uuid4().hex[:6]
    ann, bob, cy = (Person(browser, DESKTOP), Person(browser, DESKTOP), Person(browser, PHONE))
    ann.sign_up(pair.one, f"ann_{suffix}")
    bob.sign_up(pair.two, f"bob_{suffix}")

    # Bob and Cy (signed out, on a phone) read on server two; Ann writes on server one.
    listing = bob.page(pair.two + "/new")
    first = listing.locator("article.story").first
    article_id = int((first.get_attribute("id") or "a0")[1:])
    count = first.locator("[data-points]")
    before = int(count.inner_text())
    comments = int(first.locator(".comments-link").inner_text().split()[0])
    bob_article = bob.page(f"{pair.two}/articles/{article_id}")
    cy_article = cy.page(f"{pair.two}/articles/{article_id}")
    ann_article = ann.page(f"{pair.one}/articles/{article_id}")
    for page in (listing, bob_article, cy_article, ann_article):
        live(page)

    # A vote on server one: the count changes on server two's list and article pages.
    ann_article.locator(f"#a{article_id} button.vote-button").click()
    expect(ann_article.locator(f"#a{article_id} [data-points]")).to_have_text(str(before + 1))
    expect(count).to_have_text(str(before + 1))
    for page in (bob_article, cy_article):
        expect(page.locator(f"#a{article_id} [data-points]")).to_have_text(str(before + 1))

    # A comment posted on server one (a plain form post) appears on server two's pages.
    text = f"Live from server one, {suffix} <b>not bold</b>"
    ann_article.get_by_label("Your comment").fill(text)
    ann_article.get_by_role("button", name="Post comment").click()
    mine = ann_article.locator("li.comment", has_text=text)
    expect(mine).to_be_visible()
    comment_id = int((mine.get_attribute("id") or "c0")[1:])
    live(ann_article)  # reloaded by the post: its socket is a new one
    for page in (bob_article, cy_article):
        arrived = page.locator(f"#c{comment_id}")
        expect(arrived).to_contain_text(text)  # as text: the markup was escaped
        expect(arrived.locator("b")).to_have_count(0)
        expect(page.locator("#comments-title")).to_have_text(
            f"{comments + 1} comment" + "s" * (comments != 0)
        )
        not_reloaded(page)
    # Cy, signed out, got the reader's copy: a link to sign in, no form.
    expect(cy_article.locator(f"#c{comment_id} a.vote-button")).to_have_attribute(
        "href", re.compile(r"^/auth/login\?next=")
    )
    # Bob got working forms: his vote on the new comment (CSRF token filled in by
    # live.js) reaches Ann's page on server one.
    bob_article.locator(f"#c{comment_id} > .comment-head button.vote-button").click()
    expect(bob_article.locator(f"#c{comment_id} > .comment-head [data-points]")).to_have_text("1")
    expect(ann_article.locator(f"#c{comment_id} > .comment-head [data-points]")).to_have_text("1")
    expect(bob_article.locator(f"#c{comment_id} summary", has_text="Reply")).to_be_visible()
    not_reloaded(bob_article)
    not_reloaded(listing)
    expect(first.locator(".comments-link")).to_contain_text(f"{comments + 1} comment")

    bob_article.locator(f"#c{comment_id}").scroll_into_view_if_needed()
    shot(bob_article, "desktop-article")
    shot(cy_article, "phone-article")
    shot(listing, "desktop-list")
    assert ann.violations == bob.violations == cy.violations == []
    for person in (ann, bob, cy):
        person.context.close()
