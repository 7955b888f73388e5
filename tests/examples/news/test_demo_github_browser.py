"""``make demo``'s "Sign in with GitHub" in headless Chromium: the demo started as a person
starts it, its login page at desktop and phone widths (the button legible: its text is
not the colour of its background), and a press of the button that comes back signed in
through the stand-in GitHub. Screenshots land in ``test-output/demo-github/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from test_demo import serving

from browsers import launched
from servers import REPO_ROOT

SHOTS = REPO_ROOT / "test-output" / "demo-github"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.server
#: A button's text colour, and the colour behind it: its own background, or the first
#: ancestor's that is not transparent.
BEHIND = """b => {
  const clear = (c) => c === "rgba(0, 0, 0, 0)" || c === "transparent";
  let under = b;
  while (under && clear(getComputedStyle(under).backgroundColor)) under = under.parentElement;
  return [getComputedStyle(b).color, getComputedStyle(under || document.body).backgroundColor];
}"""


@pytest.fixture(scope="module")
def demo_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'news.sqlite3'}"
    with serving(url) as (port, _):
        yield port


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_github_button_is_legible_and_signs_in(
    browser: Browser, demo_port: int, width: str
) -> None:
    w, h = VIEWPORTS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        base = f"http://127.0.0.1:{demo_port}"
        page.goto(base + "/auth/login")
        button = page.get_by_role("button", name="Sign in with GitHub")
        expect(button).to_be_visible()
        colour, background = button.evaluate(BEHIND)
        assert colour != background, (colour, background)  # white on white, once
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"login-{width}.png"), full_page=True)
        button.click()
        expect(page).to_have_url(base + "/")
        expect(page.get_by_text("octo-reader").first).to_be_visible()
    finally:
        context.close()
