"""The page cache keeps one copy per language: a French page is never served in German."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from i18nsite import make_app

from kettle.cache import Cache
from kettle.i18n import active, gettext
from kettle.testing import TestClient


@pytest.mark.parametrize("url", ["memory://", "redis://127.0.0.1:6379/0"])
def test_cached_pages_do_not_mix_languages(root: Path, url: str) -> None:
    app, _ = make_app(root)
    cache = Cache(app, url, prefix=f"i18n-{uuid.uuid4().hex}:")
    runs: list[str] = []

    @app.get("/")
    @cache.page(60)
    def home() -> str:
        runs.append(active().code)
        return gettext("Hello")

    client = TestClient(app)
    try:
        pages = [
            client.get("/", headers={"accept-language": "fr"}),
            client.get("/", headers={"accept-language": "de"}),
            client.get("/", headers={"accept-language": "fr-CA"}),  # fr again: cached
            client.get("/", headers={"accept-language": "de-AT, fr;q=0.5"}),  # de: cached
        ]
        client.cookies.set("language", "fr")
        pages.append(client.get("/", headers={"accept-language": "de"}))  # the cookie: fr
        client.cookies.clear()
        pages.append(client.get("/de/"))  # a URL of its own: rendered once
        assert [p.text for p in pages] == [
            "Bonjour",
            "Hallo",
            "Bonjour",
            "Hallo",
            "Bonjour",
            "Hallo",
        ]
        assert [p.headers["content-language"] for p in pages] == [
            "fr",
            "de",
            "fr",
            "de",
            "fr",
            "de",
        ]
        assert runs == ["fr", "de", "de"]
        # Downstream caches are told what the page varied on.
        assert "Accept-Language" in pages[2].headers["vary"]
    finally:
        cache.clear()
