"""The admin in German in a real browser against a real server: sign in on the German
login page, then the dashboard and a list, at desktop and phone widths. Screenshots land
in ``test-output/i18n/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from i18nadmin import PASSWORD, make_site, seed
from playwright.sync_api import Browser, expect

from browsers import launched
from servers import REPO_ROOT, running_server

SHOTS = REPO_ROOT / "test-output" / "i18n"
HERE = Path(__file__).resolve().parent
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("i18n-browser")
    url = f"sqlite:///{root / 'teashop.sqlite3'}"
    site = make_site(root, url)
    seed(site)
    site.db.dispose()
    env = {"KETTLE_TEST_I18N_DB": url, "KETTLE_TEST_I18N_ROOT": str(root)}
    with running_server(
        "i18n_admin_server:app", server="uvicorn", env=env, pythonpath=(HERE, HERE.parent)
    ) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_the_admin_in_german(browser: Browser, served: str, width: str) -> None:
    w, h = VIEWPORTS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(served + "/de/auth/login?next=/de/admin/local_tea/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        page.get_by_label("Benutzername").fill("root")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        expect(page).to_have_url(re.compile(r"/de/admin/local_tea/$"))
        expect(page.get_by_role("button", name="Suchen")).to_be_visible()
        expect(page.get_by_text("Abmelden")).to_have_count(1)
        page.get_by_role("checkbox", name="Assam auswählen").check()
        expect(page.get_by_text("1 von 4 ausgewählt")).to_be_visible()  # admin.js, in German
        expect(page.get_by_role("option", name="Auswahl löschen")).to_have_count(1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= w
        page.screenshot(path=str(SHOTS / f"list-de-{width}.png"), full_page=True)
        page.goto(served + "/de/admin/")
        expect(page.get_by_role("heading", name="Übersicht")).to_be_visible()
        # Longer German words stay inside their card (the model card's two buttons wrap).
        card = page.locator(".model-card").first.bounding_box()
        add = page.locator(".model-card").first.get_by_text("Hinzufügen").bounding_box()
        assert card is not None
        assert add is not None
        assert add["x"] + add["width"] <= card["x"] + card["width"]
        page.screenshot(path=str(SHOTS / f"dashboard-de-{width}.png"), full_page=True)
        page.goto(served + "/de/admin/local_tea/add")
        page.get_by_role("button", name="Speichern", exact=True).click()
        expect(page.get_by_text("Bitte korrigieren Sie den Fehler unten.")).to_be_visible()
        expect(page.get_by_text("Dieses Feld ist erforderlich.").first).to_be_visible()
        page.screenshot(path=str(SHOTS / f"form-de-{width}.png"), full_page=True)
    finally:
        context.close()
