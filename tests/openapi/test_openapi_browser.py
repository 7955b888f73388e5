"""/docs in headless Chromium: Swagger UI renders the document and runs a request, with
no request leaving 127.0.0.1 and no console error, under the page's strict CSP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browsers import launched, watch
from servers import running_server

HERE = Path(__file__).resolve().parent
SCREENSHOT = Path("/tmp/openapi-docs.png")

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server("docs_shop:app", server="granian", env={}, pythonpath=(HERE,)) as url:
        yield url


def test_docs_render_offline_with_no_console_error(base_url: str) -> None:
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        seen = watch(page)
        response = page.goto(base_url + "/docs")
        assert response is not None
        assert response.status == 200
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        page.wait_for_selector(".opblock-summary", timeout=15_000)
        assert page.locator(".info .title").inner_text().startswith("Shop")
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/teas", "/teas/{id}"} <= {s.replace("\u200b", "") for s in summaries}
        # Try GET /teas for real: Swagger UI's fetch works under the CSP.
        page.locator(".opblock-get .opblock-summary").first.click()
        page.get_by_role("button", name="Try it out").click()
        with page.expect_response(lambda r: "/teas?" in r.url or r.url.endswith("/teas")):
            page.get_by_role("button", name="Execute").click()
        page.wait_for_selector(".responses-table .response-col_status", timeout=10_000)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert seen.problems == []
    assert seen.violations == []
    assert seen.outside() == []
    assert any(url.endswith("/openapi.json") for url in seen.requests)
