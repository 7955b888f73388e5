"""What the auth browser tests share: a page at a viewport that reports CSP violations,
screenshots that check nothing sticks out sideways, and the password sign-in::

    context, page, violations = open_page(browser, "phone")
    password_sign_in(page, base_url, "ann")
    shot(page, SHOTS, "phone", "login")
    assert violations == []

``serving`` runs an app module of this folder (``*_server.py``) on uvicorn over a fresh
SQLite database with the users ann and bob; the module builds its site with
``served_site()``, from ``KETTLE_TEST_AUTH_DB`` and ``KETTLE_TEST_AUTH_ROOT``. Test
modules import the module-scoped ``browser`` fixture from here by name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from authsite import PASSWORD, Site, make_site
from playwright.sync_api import Browser, BrowserContext, Page

from browsers import launched, watched_page
from kettle.auth import get_user
from kettle.requests import Request
from kettle.responses.base import HTMLResponse
from servers import running_server

HERE = Path(__file__).resolve().parent

#: The widths the auth pages are tested at: a desktop and a phone.
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one per test module."""
    with launched() as browser:
        yield browser


def served_site(**options: Any) -> Site:
    """The site of a ``*_server.py`` module, from the environment ``serving`` sets, with
    a home page that says who is signed in; ``options`` go to ``AuthOptions``."""
    root = Path(os.environ.get("KETTLE_TEST_AUTH_ROOT", "."))
    site = make_site(root, os.environ["KETTLE_TEST_AUTH_DB"], **options)

    @site.app.get("/")
    def home(request: Request) -> HTMLResponse:
        user = get_user(request)
        who = f"Signed in as {user.username}" if user.is_authenticated else "Signed out"
        return HTMLResponse(f"<!doctype html><title>Home</title><h1>{who}</h1>")

    return site


def open_page(browser: Browser, width: str) -> tuple[BrowserContext, Page, list[str]]:
    """A new context and page at ``VIEWPORTS[width]``, and the list its Content-Security-
    Policy violations are reported to."""
    context, page, seen = watched_page(browser, *VIEWPORTS[width])
    return context, page, seen.violations


def shot(page: Page, folder: Path, width: str, name: str) -> None:
    """Save a full-page screenshot in ``folder``, after checking that nothing sticks out
    sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[width][0], name
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def password_sign_in(page: Page, base_url: str, username: str) -> None:
    """Fill in and send the login form (what follows is the test's to check)."""
    page.goto(base_url + "/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


@contextlib.contextmanager
def serving(
    root: Path,
    target: str,
    install: Callable[[Site], object] = lambda site: None,
    env: dict[str, str] | None = None,
    users: tuple[str, ...] = ("ann", "bob"),
) -> Iterator[str]:
    """Serve ``target`` (``passkey_server:app``) on uvicorn; yields its base URL. The
    tables are made first, with what ``install(site)`` adds (``Passkeys``, say), and
    ``users``; ``env`` adds to the server's environment::

        with serving(tmp, "passkey_server:app", lambda site: Passkeys(site.auth)) as url:
            ...
    """
    url = f"sqlite:///{root / 'site.sqlite3'}"
    site = make_site(root, url)
    install(site)
    site.db.create_all()
    for name in users:
        site.user(name)
    site.db.dispose()
    env = {"KETTLE_TEST_AUTH_DB": url, "KETTLE_TEST_AUTH_ROOT": str(root), **(env or {})}
    with running_server(target, server="uvicorn", env=env, pythonpath=(HERE, HERE.parent)) as base:
        yield base
