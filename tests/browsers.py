"""Where the browser tests find Chromium, and what they say when it is missing.

The admin's and the news site's browser tests drive a system Chromium through Playwright
(test tools may not download browsers here). ``make test`` installs Debian's ``chromium``
when it can (``scripts/ensure-chromium``); when it could not, the browser tests fail with
the command to run: they never skip, so a green run has really clicked through the pages.

``KETTLE_CHROMIUM`` names another binary (a Chrome, a Chromium elsewhere)::

    @pytest.fixture(scope="module")
    def browser() -> Iterator[Browser]:
        executable = chromium()    # fails the test, saying how to install it, when missing

``watch`` and ``watched_page`` collect what a page reports (CSP violations, console
errors, the URLs it asks for) for the test to assert on::

    context, page, seen = watched_page(browser)
    page.goto(base + "/admin/")
    assert seen.violations == []
    assert seen.outside() == []    # nothing asked of a host other than 127.0.0.1
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

#: Where Debian's ``chromium`` package puts it.
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "sudo apt-get install chromium"


def find_chromium() -> Path | None:
    """The Chromium to use: ``KETTLE_CHROMIUM``, else ``chromium`` on PATH or Debian's."""
    named = os.environ.get("KETTLE_CHROMIUM")
    if named:
        path = Path(named)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    on_path = shutil.which("chromium")
    if on_path:
        return Path(on_path)
    return DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.exists() else None


def chromium() -> Path:
    """The Chromium to use; fails the calling test with the fix when there is none."""
    found = find_chromium()
    if found is not None:
        return found
    named = os.environ.get("KETTLE_CHROMIUM")
    where = f"KETTLE_CHROMIUM={named} is not an executable file" if named else "no Chromium"
    pytest.fail(
        f"The browser tests need Chromium and found {where} (looked for `chromium` on PATH "
        f"and {DEBIAN_CHROMIUM}). Install it with `{INSTALL}` (Debian, Ubuntu; `make test` "
        "does this itself when run as root) or set KETTLE_CHROMIUM to a Chromium or Chrome "
        "binary, then run the tests again.",
        pytrace=False,
    )


#: The flags every browser test launches Chromium with (no sandbox or GPU on test machines).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

#: A page script (``page.add_init_script``, after exposing ``reportViolation``) that reports
#: every Content-Security-Policy violation to the test, before the page's own scripts run.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.violatedDirective} blocked ${event.blockedURI}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@contextlib.contextmanager
def launched() -> Iterator[Browser]:
    """Headless Chromium for a module's browser tests::

    @pytest.fixture(scope="module")
    def browser() -> Iterator[Browser]:
        with launched() as browser:
            yield browser
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium()), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What the watched pages reported, in the order it came."""

    #: Content-Security-Policy violations: the page's event, and Chromium's console line.
    violations: list[str] = field(default_factory=list)
    #: Console errors and warnings, uncaught page errors and failed requests.
    problems: list[str] = field(default_factory=list)
    #: Every URL the pages asked for.
    requests: list[str] = field(default_factory=list)

    def outside(self, host: str = "127.0.0.1") -> list[str]:
        """The URLs asked of any other host (``data:`` URLs stay in the page)."""
        return [
            url
            for url in self.requests
            if not url.startswith("data:") and urlsplit(url).hostname != host
        ]

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(f"console: {message.text}")
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")


def watch(target: Page | BrowserContext) -> Watch:
    """Watch a page, or every page of a context, from before its own scripts run (call it
    before the first ``goto``)."""
    seen = Watch()
    # NOTE: a lambda, not the bound ``append``: Playwright cannot wrap a built-in method.
    target.expose_function("reportViolation", lambda text: seen.violations.append(text))
    target.add_init_script(CSP_WATCH)
    on: Any = target.on  # NOTE: Page and BrowserContext type their overloads apart
    on("console", seen._console)
    on("request", lambda request: seen.requests.append(request.url))
    on("requestfailed", lambda r: seen.problems.append(f"failed: {r.url} {r.failure}"))
    if isinstance(target, Page):
        target.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    else:
        target.on("weberror", lambda error: seen.problems.append(f"page error: {error.error}"))
    return seen


def watched_page(
    browser: Browser, width: int = 1280, height: int = 860, **options: Any
) -> tuple[BrowserContext, Page, Watch]:
    """A new context (``options`` as ``browser.new_context``'s) and page, ``width`` by
    ``height``, waiting 10 s at most for anything, and watched (see ``watch``); the test
    closes the context."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page, watch(page)
