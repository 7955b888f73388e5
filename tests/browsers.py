"""Where the browser tests find Chromium, and what they say when it is missing.

The admin's and the news site's browser tests drive a system Chromium through Playwright
(test tools may not download browsers here). ``make test`` installs Debian's ``chromium``
when it can (``scripts/ensure-chromium``); when it could not, the browser tests fail with
the command to run: they never skip, so a green run has really clicked through the pages.

``KETTLE_CHROMIUM`` names another binary (a Chrome, a Chromium elsewhere)::

    @pytest.fixture(scope="module")
    def browser() -> Iterator[Browser]:
        executable = chromium()    # fails the test, saying how to install it, when missing
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

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
