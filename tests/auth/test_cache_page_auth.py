"""``cache_page`` with kettle.auth: signed-out readers share the cached page, a signed-in
user never gets it nor has their own page stored."""

from __future__ import annotations

from authsite import Site

from kettle import Request
from kettle.auth import get_user
from kettle.cache import Cache
from kettle.testing import TestClient


def test_signed_in_users_bypass_the_page_cache(sqlite_site: Site) -> None:
    app = sqlite_site.app
    cache = Cache(app, "memory://")
    renders: list[str] = []

    @app.get("/front")
    @cache.page(60)
    def front(request: Request) -> str:
        name = get_user(request).username or "guest"
        renders.append(name)
        return f"<p>Hello {name}</p>"

    sqlite_site.user("ann")
    with TestClient(app) as reader, TestClient(app) as ann:
        assert reader.get("/front").text == "<p>Hello guest</p>"
        assert reader.get("/front").text == "<p>Hello guest</p>"
        sqlite_site.login(ann)
        page = ann.get("/front")
        assert page.text == "<p>Hello ann</p>"
        assert "private" in page.headers["cache-control"]
        assert ann.get("/front").text == "<p>Hello ann</p>"
        assert reader.get("/front").text == "<p>Hello guest</p>"
    assert renders == ["guest", "ann", "ann"]
