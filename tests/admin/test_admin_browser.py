"""The admin in a real browser (headless Chromium through Playwright) against a real
server: sign in, create, edit with a validation error then fix it, search, filter, sort,
bulk delete, read the history, be refused a model, sign out; at desktop width and on a
375-pixel phone. Screenshots of the main pages land in ``test-output/admin/``.

They use the system's Chromium (see tests/browsers.py): without one they fail,
saying how to install it; ``make test`` installs it where it can.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from adminsite import PASSWORD, all_perms, make_site, seed
from playwright.sync_api import Browser, Page, expect

from browsers import launched
from servers import REPO_ROOT, running_server

SHOTS = REPO_ROOT / "test-output" / "admin"
HERE = Path(__file__).resolve().parent
VIEWPORTS = {"desktop": (1280, 860), "phone": (375, 740)}

pytestmark = pytest.mark.server


@dataclass
class Served:
    url: str
    width: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The admin served by uvicorn on a fresh SQLite database, once per viewport."""
    root = tmp_path_factory.mktemp(f"browser-{request.param}")
    yield from _serve(root, request.param)


def _serve(root: Path, width: str, *, fieldsets: bool = False) -> Iterator[Served]:
    url = f"sqlite:///{root / 'admin.sqlite3'}"
    site = make_site(root, url)
    site.db.create_all()
    seed(site.db, 14)
    site.user("root", superuser=True)
    site.user("clerk", perms=all_perms("post"))
    site.db.dispose()
    env = {"KETTLE_TEST_ADMIN_DB": url, "KETTLE_TEST_ADMIN_ROOT": str(root)}
    if fieldsets:
        env["KETTLE_TEST_ADMIN_FIELDSETS"] = "1"
    with running_server(
        "admin_server:app", server="uvicorn", env=env, pythonpath=(HERE, HERE.parent)
    ) as base:
        yield Served(base, width)


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def fieldsets_served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The admin with posts in sections (``FieldsetPostAdmin``), once per viewport."""
    root = tmp_path_factory.mktemp(f"browser-fieldsets-{request.param}")
    yield from _serve(root, request.param, fieldsets=True)


def _page(browser: Browser, served: Served) -> Iterator[Page]:
    width, height = VIEWPORTS[served.width]
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    yield from _page(browser, served)


@pytest.fixture
def fieldsets_page(browser: Browser, fieldsets_served: Served) -> Iterator[Page]:
    yield from _page(browser, fieldsets_served)


def shot(page: Page, served: Served, name: str) -> None:
    """Save a screenshot, after checking that nothing sticks out sideways."""
    width = VIEWPORTS[served.width][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # sticky parts then sit where they belong
    page.screenshot(path=str(SHOTS / f"{name}-{served.width}.png"), full_page=True)


def sign_in(page: Page, served: Served, username: str = "root") -> None:
    page.goto(served.url + "/admin/post/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Fadmin%2Fpost%2F"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    expect(page).to_have_url(served.url + "/admin/post/")


def open_nav(page: Page, served: Served) -> None:
    """On a phone the models hide behind the Menu button."""
    if served.width == "phone":
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")


def test_sign_in_and_dashboard(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.goto(served.url + "/admin/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shot(page, served, "dashboard")
    page.keyboard.press("Tab")
    if served.width == "phone":  # the menu opens from the keyboard too
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_focused()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("navigation", name="Models")).to_be_in_viewport(ratio=1)
        shot(page, served, "menu")
    page.get_by_role("navigation", name="Models").get_by_role(
        "link", name="Writers", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Writers", level=1)).to_be_visible()


def test_create_then_edit_with_an_error_and_fix_it(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.get_by_role("main").get_by_role("link", name="Add post").click()
    page.get_by_label("Title").fill(f"Kettle news ({served.width})")
    writer = page.get_by_role("combobox", name="Writer")
    writer.fill("An")
    page.get_by_role("option", name="Ann").click()
    expect(writer).to_have_value("Ann")
    page.get_by_label("Status").select_option("published")
    page.get_by_label("Text", exact=True).first.fill("First remark")
    shot(page, served, "add")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("was added")
    shot(page, served, "list")

    page.get_by_role("link", name=f"Kettle news ({served.width})").click()
    expect(page.get_by_label("Text", exact=True).first).to_have_value("First remark")
    page.get_by_label("Title").fill("Spam, glorious spam")
    page.get_by_label("URL").fill("not a url")
    page.get_by_role("button", name="Save and continue editing").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please correct the 2 errors below.")
    expect(summary).to_be_focused()
    expect(
        page.locator(".field .errorlist").get_by_text("Titles may not mention spam.")
    ).to_be_visible()
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    shot(page, served, "change-errors")
    summary.get_by_role("link", name="URL").click()  # the summary links to each field
    expect(page.get_by_label("URL")).to_be_focused()
    expect(page.get_by_label("URL")).to_be_in_viewport()
    page.get_by_label("Title").fill(f"Kettle news, fixed ({served.width})")
    page.get_by_label("URL").fill("https://example.org/kettle")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_role("status")).to_contain_text("was saved")
    expect(page.get_by_label("Title")).to_have_value(f"Kettle news, fixed ({served.width})")
    shot(page, served, "change")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History", level=1)).to_be_visible()
    table = page.get_by_role("region", name="Change history")
    expect(table).to_contain_text("Changed")
    expect(table).to_contain_text("Added")
    expect(table.locator("ins").first).to_contain_text("Kettle news, fixed")
    shot(page, served, "history")


def test_search_filter_and_sort(page: Page, served: Served) -> None:
    sign_in(page, served)
    search = page.get_by_role("searchbox", name="Search posts")
    search.fill("post 1")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"q=post\+1"))
    rows = page.get_by_role("region", name="Posts").locator("tbody tr")
    expect(rows).to_have_count(6)  # Post 1 and Post 10 to 14
    if served.width == "phone":
        page.get_by_text("Filters", exact=True).click()
    page.get_by_role("link", name="Published", exact=True).click()
    expect(page).to_have_url(re.compile(r"status__exact=published"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Post 12")
    page.get_by_role("link", name="Clear search and filters").click()
    header = page.get_by_role("columnheader", name=re.compile("Score"))
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    scores = [int(t) for t in rows.locator("td:nth-child(6)").all_inner_texts()]
    assert scores == sorted(scores)
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("Post 14")
    scores = [int(t) for t in rows.locator("td:nth-child(6)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    shot(page, served, "list-sorted")


def test_bulk_delete(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.goto(served.url + "/admin/post/?q=post+1")
    for title in ("Post 13", "Post 14"):
        page.get_by_role("checkbox", name=f"Select {title}").check()
    expect(page.get_by_text("2 of 6 selected")).to_be_visible()
    page.get_by_label("Action").select_option("delete_selected")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("heading", name="Delete 2 posts?")).to_be_visible()
    shot(page, served, "delete-selected")
    page.get_by_role("button", name="Yes, delete them").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 2 posts.")
    expect(page.get_by_role("link", name="Post 14", exact=True)).to_have_count(0)


def test_delete_page_and_refused_model(page: Page, served: Served) -> None:
    sign_in(page, served, "clerk")
    page.goto(served.url + "/admin/post/3/delete")
    expect(page.get_by_role("button", name="Yes, delete it")).to_be_visible()
    shot(page, served, "delete")
    open_nav(page, served)
    nav = page.get_by_role("navigation", name="Models")
    expect(nav.get_by_role("link", name="Posts", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Writers", exact=True)).to_have_count(0)
    response: Any = page.goto(served.url + "/admin/writer/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name=re.compile("Not allowed"))).to_be_visible()
    expect(page.get_by_text("You do not have permission to view writers.")).to_be_visible()
    shot(page, served, "refused")


def test_sign_out(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    page.goto(served.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


def test_a_form_in_sections(fieldsets_page: Page, fieldsets_served: Served) -> None:
    page, served = fieldsets_page, fieldsets_served
    sign_in(page, served)
    page.get_by_role("link", name="Post 14", exact=True).click()
    expect(page.get_by_role("heading", name="Content", level=2)).to_be_visible()
    expect(page.get_by_text("What readers see.")).to_be_visible()
    score = page.get_by_label("Score")
    expect(score).to_be_hidden()  # in the collapsed "Moderation" section
    expect(page.get_by_text("Staff only: scores and dates.")).to_be_hidden()
    shot(page, served, "fieldsets")
    page.get_by_text("Moderation", exact=True).click()  # the summary opens it
    expect(score).to_be_visible()
    expect(page.get_by_text("Staff only: scores and dates.")).to_be_visible()
    # Status and Featured share a row on a wide screen and stack on a phone.
    status = page.get_by_label("Status").bounding_box()
    featured = page.get_by_label("Featured").bounding_box()
    assert status is not None
    assert featured is not None
    same_row = abs(status["y"] - featured["y"]) < status["height"]
    assert same_row == (served.width == "desktop"), (status, featured)
    shot(page, served, "fieldsets-open")
    score.fill("42")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_role("status")).to_contain_text("was saved")
    page.get_by_text("Moderation", exact=True).click()
    expect(page.get_by_label("Score")).to_have_value("42")
    page.get_by_label("Price").fill("12.345")  # more decimal places than the column has
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the error below.")
    expect(page.get_by_label("Price")).to_be_visible()  # its section opens by itself
    expect(page.locator(".field-price .errorlist")).to_be_visible()
    shot(page, served, "fieldsets-error")
