"""The news site in a real browser (headless Chromium through Playwright) on a real server.

The journeys of the people who use it: sign up, log out and in; submit a link and a text;
vote with and without JavaScript; comment, reply, edit and delete; an editor hides an
article; the admin for staff only; the lists and their pages. Each runs at desktop width
and on a 375-pixel phone, on the demo's data (see ``browserserver.py``), and saves a
screenshot per step in ``test-output/news/<viewport>-<step>.png``.

They use the system's Chromium (see tests/browsers.py): without one they fail,
saying how to install it; ``make test`` installs it where it can.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyotp
import pytest
from browserserver import PER_PAGE, NewsServer, news_server
from news.demo import demo_account
from playwright.sync_api import (
    Browser,
    FloatRect,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from browsers import chromium
from servers import REPO_ROOT

SHOTS = REPO_ROOT / "test-output" / "news"
VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 740)}
PASSWORD = "kettles whistle at 100 degrees"

pytestmark = pytest.mark.server


_names = itertools.count(1)


@dataclass
class Visit:
    """The server, the viewport of this test, and a way to open more pages."""

    server: NewsServer
    width: str
    open: Callable[..., Page]

    @property
    def url(self) -> str:
        return self.server.url

    def shot(self, page: Page, step: str) -> None:
        """Save ``<viewport>-<step>.png``, after checking that nothing sticks out sideways."""
        width = VIEWPORTS[self.width][0]
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{step}: the page is {scroll_width}px wide at {width}px"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header then sits at the top
        page.screenshot(path=str(SHOTS / f"{self.width}-{step}.png"), full_page=True)

    def username(self, what: str) -> str:
        """A username no other test (nor the other viewport) uses."""
        return f"{what}_{self.width}_{next(_names)}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium()),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewsServer]:
    """One server for the module: the tests use accounts and articles of their own."""
    with news_server(tmp_path_factory.mktemp("news-browser")) as served:
        yield served


@pytest.fixture(params=list(VIEWPORTS))
def visit(request: pytest.FixtureRequest, browser: Browser, server: NewsServer) -> Iterator[Visit]:
    """Pages at one viewport; each ``visit.open()`` is a new browser context (a new person)."""
    width, height = VIEWPORTS[request.param]
    contexts = []

    def open_page(*, javascript: bool = True) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, java_script_enabled=javascript
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield Visit(server, request.param, open_page)
    for context in contexts:
        context.close()


# --- helpers ------------------------------------------------------------------------------------
def header(page: Page) -> Locator:
    return page.get_by_role("banner")


def sign_up(page: Page, visit: Visit, username: str) -> None:
    """Create an account through /auth/signup; the site then shows the person signed in."""
    page.goto(visit.url + "/auth/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(header(page).get_by_role("link", name=username, exact=True)).to_be_visible()


def log_in(page: Page, visit: Visit, username: str, password: str = PASSWORD) -> None:
    page.goto(visit.url + "/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if demo_account(username) is not None:
        give_the_code(page, username)
    expect(header(page).get_by_role("link", name=username, exact=True)).to_be_visible()


_last_step: dict[str, int] = {}


def give_the_code(page: Page, username: str) -> None:
    """Answer the code page for a demo account, as its authenticator app would. A code
    works once, so each sign-in takes a later time step than the one before (the site
    accepts the next step's code too, for clocks that drift)."""
    account = demo_account(username)
    assert account is not None
    step = max(int(time.time() // 30), _last_step.get(username, -1) + 1)
    while step > int(time.time() // 30) + 1:
        time.sleep(1)
    _last_step[username] = step
    expect(page).to_have_url(re.compile(r"/auth/2fa/totp"))
    page.get_by_label("6-digit code").fill(pyotp.TOTP(account.totp_secret).at(step * 30))
    page.get_by_role("button", name="Verify").click()


def box(item: Locator) -> FloatRect:
    """Where ``item`` is on the page (it must be visible)."""
    found = item.bounding_box()
    assert found is not None, f"{item} is not visible"
    return found


def points_of(item: Locator) -> int:
    return int(item.locator("[data-points]").first.inner_text())


def first_open_story(page: Page) -> Locator:
    """The first ranked story on the page that is not locked (it takes votes and comments)."""
    story = page.locator(".stories .story").filter(
        has_not=page.locator(".badge", has_text="Locked")
    )
    return story.first


def submit_article(page: Page, visit: Visit, title: str, *, url: str = "", body: str = "") -> int:
    """Submit through the form; returns the new article's id (its page is open)."""
    page.goto(visit.url + "/submit")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Link").fill(url)
    page.get_by_label("Text").fill(body)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/articles/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


# --- the journeys -------------------------------------------------------------------------------
def test_sign_up_log_out_and_log_in_again(visit: Visit) -> None:
    page = visit.open()
    username = visit.username("pat")
    page.goto(visit.url + "/")
    header(page).get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    visit.shot(page, "signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(header(page).get_by_role("link", name=username, exact=True)).to_be_visible()
    expect(header(page).get_by_role("button", name="Sign out")).to_be_visible()
    visit.shot(page, "signed-up")

    header(page).get_by_role("button", name="Sign out").click()
    expect(header(page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(header(page).get_by_role("link", name=username)).to_have_count(0)
    header(page).get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Enter a correct username and password").first).to_be_visible()
    visit.shot(page, "login-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(header(page).get_by_role("link", name=username, exact=True)).to_be_visible()

    header(page).get_by_role("link", name=username, exact=True).click()
    expect(page.get_by_role("heading", name=username, level=1)).to_be_visible()


def test_submit_a_link_and_a_text(visit: Visit) -> None:
    page = visit.open()
    sign_up(page, visit, visit.username("sam"))
    header(page).get_by_role("link", name="Submit").click()
    expect(page.get_by_role("heading", name="Submit a story")).to_be_visible()
    visit.shot(page, "submit")

    title = f"How kettles whistle ({visit.width})"
    page.get_by_label("Title").fill(title)
    page.get_by_label("Link").fill("kettles dot example")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    link = page.get_by_label("Link")
    expect(link).to_have_attribute("aria-invalid", "true")
    expect(link).to_be_focused()  # the first field to correct
    expect(page.locator("#url-errors")).to_contain_text(re.compile("http", re.I))
    expect(page.get_by_label("Title")).to_have_value(title)  # what was typed stays
    visit.shot(page, "submit-error")

    link.fill(f"https://example.org/whistle-{visit.width}")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/articles/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Thanks!")
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    visit.shot(page, "submitted-link")

    text_title = f"Ask News: descaling a kettle? ({visit.width})"
    submit_article(page, visit, text_title, body="Vinegar or citric acid?\n\nAnd how often?")
    expect(page.get_by_role("heading", name=text_title)).to_be_visible()
    expect(page.get_by_text("Vinegar or citric acid?")).to_be_visible()
    visit.shot(page, "submitted-text")

    header(page).get_by_role("link", name="New", exact=True).click()
    stories = page.locator(".stories .story-title")
    # Both are among the newest (another viewport's test may have posted in between).
    expect(stories.filter(has_text=title)).to_have_count(1)
    expect(stories.filter(has_text=text_title)).to_have_count(1)
    visit.shot(page, "new-with-mine")


def test_vote_with_javascript_and_take_it_back(visit: Visit) -> None:
    page = visit.open()
    sign_up(page, visit, visit.username("val"))
    page.goto(visit.url + "/")
    story = page.locator(f"#{first_open_story(page).get_attribute('id')}")
    before = points_of(story)
    button = story.locator(".vote-button")
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.stillHere = true")  # a page load would forget it

    button.click()
    expect(story.locator("[data-points]")).to_have_text(str(before + 1))
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_accessible_name(re.compile("^Take back your vote"))
    assert page.evaluate("window.stillHere") is True
    visit.shot(page, "voted-js")

    button.click()
    expect(story.locator("[data-points]")).to_have_text(str(before))
    expect(button).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.stillHere") is True
    page.reload()  # the server kept the count
    expect(page.locator(f"#{story.get_attribute('id')} [data-points]")).to_have_text(str(before))


def test_vote_without_javascript(visit: Visit) -> None:
    page = visit.open(javascript=False)
    sign_up(page, visit, visit.username("nojs"))
    page.goto(visit.url + "/")
    story_id = first_open_story(page).get_attribute("id")
    story = page.locator(f"#{story_id}")
    before = points_of(story)

    with page.expect_navigation():
        story.locator(".vote-button").click()
    expect(page).to_have_url(visit.url + "/")
    expect(story.locator("[data-points]")).to_have_text(str(before + 1))
    expect(story.locator(".vote-button")).to_have_attribute("aria-pressed", "true")
    visit.shot(page, "voted-nojs")

    with page.expect_navigation():
        story.locator(".vote-button").click()
    expect(story.locator("[data-points]")).to_have_text(str(before))
    expect(story.locator(".vote-button")).to_have_attribute("aria-pressed", "false")


def test_comment_reply_edit_and_delete(visit: Visit) -> None:
    page = visit.open()
    sign_up(page, visit, visit.username("cat"))
    page.goto(visit.url + "/")
    first_open_story(page).get_by_role("link", name=re.compile(r"\d+ comments?$")).click()
    expect(page).to_have_url(re.compile(r"/articles/\d+$"))
    visit.shot(page, "article")

    page.get_by_role("button", name="Post comment").click()  # empty: the browser says no
    expect(page).to_have_url(re.compile(r"/articles/\d+$"))
    page.get_by_label("Your comment").fill("First! A kettle is a small boiler.")
    page.get_by_role("button", name="Post comment").click()
    expect(page).to_have_url(re.compile(r"#c\d+$"))
    parent_id = page.url.rsplit("#c", 1)[1]
    parent = page.locator(f"#c{parent_id}")
    expect(parent.locator("> .comment-body")).to_have_text("First! A kettle is a small boiler.")

    parent.locator("> .comment-actions summary").click()  # opens the reply form
    parent.get_by_label("Your reply").fill("Smaller than a locomotive's, anyway.")
    parent.get_by_role("button", name="Reply", exact=True).click()
    expect(page).to_have_url(re.compile(r"#c\d+$"))
    reply_id = page.url.rsplit("#c", 1)[1]
    assert reply_id != parent_id
    reply = parent.locator(f"> .thread > #c{reply_id}")  # nested under the parent
    expect(reply).to_contain_text("Smaller than a locomotive's, anyway.")
    indent = box(reply)["x"] - box(parent)["x"]
    assert indent >= 8, f"the reply is indented by {indent}px only"
    parent.scroll_into_view_if_needed()
    visit.shot(page, "thread")

    parent.locator("> .comment-actions").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit your comment")).to_be_visible()
    page.get_by_label("Comment").fill("")
    page.get_by_role("button", name="Save").click()  # empty: required stops it
    expect(page.get_by_role("heading", name="Edit your comment")).to_be_visible()
    page.get_by_label("Comment").fill("First! A kettle is a small boiler, with a whistle.")
    visit.shot(page, "edit-comment")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your comment was updated.")
    expect(parent.locator("> .comment-body")).to_contain_text("with a whistle")
    expect(parent.locator("> .comment-head")).to_contain_text("edited")

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete this comment?"
    parent.locator("> .comment-actions").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Your comment was deleted.")
    expect(parent.locator("> .comment-head")).to_contain_text("[deleted]")
    expect(parent.locator("> .comment-body")).to_have_count(0)
    expect(reply).to_contain_text("Smaller than a locomotive's, anyway.")
    visit.shot(page, "comment-deleted")


def reply_to(page: Page, comment_id: str, text: str) -> str:
    """Answer comment ``comment_id`` through its Reply form; returns the reply's id."""
    comment = page.locator(f"#c{comment_id}")
    comment.locator("> .comment-actions summary").click()
    comment.get_by_label("Your reply").fill(text)
    comment.get_by_role("button", name="Reply", exact=True).click()
    expect(page).not_to_have_url(re.compile(f"#c{comment_id}$"))
    expect(page).to_have_url(re.compile(r"#c\d+$"))
    return page.url.rsplit("#c", 1)[1]


def test_deep_threads_stop_moving_right(visit: Visit) -> None:
    page = visit.open()
    sign_up(page, visit, visit.username("deep"))
    submit_article(page, visit, f"Threads all the way down ({visit.width})", body="Reply here.")
    page.get_by_label("Your comment").fill("Level 0")
    page.get_by_role("button", name="Post comment").click()
    ids = [page.url.rsplit("#c", 1)[1]]
    for depth in range(1, 11):
        ids.append(reply_to(page, ids[-1], f"Level {depth}: a reply to the comment above."))
    bodies = [box(page.locator(f"#c{id} > .comment-body")) for id in ids]
    xs = [body["x"] for body in bodies]
    cap = 8 if visit.width == "desktop" else 4  # the levels that still move right
    assert all(a < b for a, b in itertools.pairwise(xs[: cap + 1])), xs
    assert xs[cap:] == [xs[cap]] * len(xs[cap:]), xs
    top, deepest = bodies[0], bodies[-1]
    assert deepest["width"] >= top["width"] * 0.6, (top, deepest)  # room for the text
    page.locator(f"#c{ids[0]}").scroll_into_view_if_needed()
    visit.shot(page, "thread-deep")


def test_editor_hides_an_article(visit: Visit) -> None:
    author = visit.open()
    sign_up(author, visit, visit.username("ed_reader"))
    title = f"Kettle descaling tips ({visit.width})"
    article_id = submit_article(author, visit, title, url=f"https://example.org/tips-{visit.width}")
    path = f"/articles/{article_id}"

    editor = visit.open()
    log_in(editor, visit, *visit.server.accounts["editor"])
    editor.goto(visit.url + path)
    moderation = editor.get_by_label("Moderation")
    moderation.get_by_role("button", name="Feature").click()
    expect(editor.get_by_role("status")).to_contain_text("featured")
    author.goto(visit.url + "/")
    expect(author.get_by_role("region", name="Featured")).to_contain_text(title)

    moderation.get_by_role("button", name="Hide").click()
    expect(editor.get_by_role("status")).to_contain_text("hidden")
    expect(editor.locator(f"#a{article_id} .badge", has_text="Hidden")).to_be_visible()
    expect(moderation.get_by_role("button", name="Unhide")).to_be_visible()
    visit.shot(editor, "editor-hidden")

    response = author.goto(visit.url + path)
    assert response is not None
    assert response.status == 404
    expect(author.get_by_role("heading", name="Not Found")).to_be_visible()
    visit.shot(author, "reader-404")
    author.goto(visit.url + "/")
    expect(author.get_by_text(title)).to_have_count(0)
    author.goto(visit.url + "/new")
    expect(author.get_by_text(title)).to_have_count(0)


def test_the_account_menu_leads_to_the_account_pages(visit: Visit) -> None:
    page = visit.open()
    username = visit.username("tz")
    sign_up(page, visit, username)
    menu = header(page).locator("details.menu")
    menu.get_by_text("Account").click()
    items = menu.get_by_role("navigation", name="Account")
    for name in ("Password", "Two-factor authentication", "Passkeys", "Time zone"):
        expect(items.get_by_role("link", name=name)).to_be_visible()
    viewport = VIEWPORTS[visit.width][0]
    found = box(items)
    assert found["x"] >= 0, found
    assert found["x"] + found["width"] <= viewport, found
    visit.shot(page, "account-menu")
    items.get_by_role("link", name="Time zone").click()
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    page.goto(visit.url + "/new")
    expect(page.locator(".story time").first).to_have_attribute("title", re.compile(r" JST$"))
    visit.shot(page, "account-new-in-tokyo")


def test_the_admin_is_for_staff(visit: Visit) -> None:
    reader = visit.open()
    sign_up(reader, visit, visit.username("rob"))
    response = reader.goto(visit.url + "/admin/")
    assert response is not None
    assert response.status == 403
    expect(reader.get_by_text("the admin is for staff only")).to_be_visible()
    visit.shot(reader, "admin-refused")

    admin = visit.open()
    admin.goto(visit.url + "/admin/")
    expect(admin).to_have_url(re.compile(r"/auth/login\?next=%2Fadmin%2F"))
    username, password = visit.server.accounts["admin"]
    admin.get_by_label("Username").fill(username)
    admin.get_by_label("Password").fill(password)
    admin.get_by_role("button", name="Sign in", exact=True).click()
    give_the_code(admin, username)  # staff must use two-factor authentication
    expect(admin).to_have_url(visit.url + "/admin/")
    admin.goto(visit.url + "/admin/article/")
    expect(admin.get_by_role("heading", name="Articles", level=1)).to_be_visible()
    expect(admin.locator("tbody tr")).not_to_have_count(0)
    visit.shot(admin, "admin-articles")


@pytest.mark.parametrize(("path", "step"), [("/", "front"), ("/new", "new"), ("/top", "top")])
def test_the_lists_are_full_and_page(visit: Visit, path: str, step: str) -> None:
    page = visit.open()
    page.goto(visit.url + path)
    stories = page.locator(".stories .story")
    expect(stories).to_have_count(PER_PAGE)
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text(re.compile(r"Page 1 of \d+"))
    visit.shot(page, step)
    first_title = stories.first.locator(".story-title").inner_text()

    pager.get_by_role("link", name=re.compile("More")).click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(pager).to_contain_text(re.compile(r"Page 2 of \d+"))
    expect(stories.first.locator(".story-title")).not_to_have_text(first_title)
    expect(page.locator(".stories .rank").first).to_have_text(f"{PER_PAGE + 1}.")
    expect(pager.get_by_role("link", name=re.compile("Newer"))).to_be_visible()
    if step == "front":
        visit.shot(page, "front-page-2")
        stories.first.locator("a[href^='/users/']").click()
        expect(page).to_have_url(re.compile(r"/users/[\w.]+$"))
        expect(page.get_by_role("heading", name="Submissions")).to_be_visible()
        visit.shot(page, "profile")
