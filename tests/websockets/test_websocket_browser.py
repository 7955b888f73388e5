"""Cross-site WebSocket hijacking, in Chromium: a page of the site itself talks to its
socket; a page of another site (``evil.test``, resolved to this machine) that opens the
same socket, with the user's cookies, is refused before the handshake. Screenshots at
desktop and phone widths land in ``/tmp/shots/h5/``."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import wsapp
from playwright.sync_api import Browser, expect, sync_playwright
from wsservers import Served, serving

from browsers import FLAGS, chromium

SHOTS = Path("/tmp/shots/h5")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving("uvicorn") as served:  # uvicorn logs each handshake's status
        yield served
        assert "Traceback" not in served.output()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    rules = "--host-resolver-rules=MAP evil.test 127.0.0.1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium()), args=[*FLAGS, rules])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def evil_site(target: str) -> Iterator[str]:
    """Another site, on a port of its own, whose page opens ``target``."""
    page = wsapp.PAGE.format(title="Another site", nonce="", target=f'"{target}"').encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://evil.test:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_own_page_talks_and_another_site_is_refused(
    browser: Browser, served: Served, width: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    w, h = VIEWPORTS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    # A cookie for the socket's site: a hijacking page would ride on it.
    context.add_cookies([{"name": "session", "value": "secret", "url": served.url}])
    page = context.new_page()
    try:
        page.goto(served.url + "/")
        expect(page.locator("#status")).to_have_text("echo: hello from the page")
        page.screenshot(path=str(SHOTS / f"own-page-{width}.png"))
        with evil_site(served.ws_url + "/echo") as evil:
            page.goto(evil)
            expect(page.locator("#status")).to_have_text("closed 1006")
            page.screenshot(path=str(SHOTS / f"other-site-{width}.png"))
    finally:
        context.close()
    assert '"WebSocket /echo" 403' in served.output()
