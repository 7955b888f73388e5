"""``cache_page``: whole responses from the cache, only when they are everybody's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kettle import App, Request
from kettle.cache import Cache, conditional, etag_for, not_modified, serve_cached
from kettle.responses import Response, render
from kettle.testing import TestClient


@pytest.fixture
def site(tmp_path: Path, cache: Cache) -> Iterator[tuple[TestClient, list[str]]]:
    """An app whose pages are cached in ``cache``, and the list of handler runs."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "form.html").write_text("<form>{{ csrf_input() }}</form>")
    (tmp_path / "templates" / "frag.html").write_text(
        "{% cache 'frag', 60 %}{{ counter() }}<b>{{ '<i>' }}</b>{% endcache %}"
    )
    app = App(root=tmp_path)
    cache = Cache(app, cache.url, backend=cache.backend, prefix=cache.prefix)
    runs: list[str] = []

    @app.get("/page")
    @cache.page(60)
    def page(lang: str = "en") -> str:
        runs.append("page")
        return f"<p>page {len(runs)} {lang}</p>"

    @app.get("/apage")
    @cache.page(60, vary=["Accept-Language"])
    async def apage(request: Request) -> str:
        runs.append("apage")
        return f"<p>{request.headers.get('accept-language', '-')} {len(runs)}</p>"

    @app.get("/varies")
    @cache.page(60)
    def varies(request: Request) -> Response:
        runs.append("varies")
        response = Response(f"{request.headers.get('x-theme')} {len(runs)}")
        response.set_header("vary", "X-Theme")
        return response

    @app.get("/cookie")
    @cache.page(60)
    def cookie() -> Response:
        runs.append("cookie")
        response = Response("hello")
        response.set_cookie("seen", "1")
        return response

    @app.get("/form")
    @cache.page(60)
    def form() -> Response:
        runs.append("form")
        return render("form.html")

    @app.get("/private")
    @cache.page(60)
    def private() -> Response:
        runs.append("private")
        return Response("mine", headers={"cache-control": "private"})

    @app.get("/missing")
    @cache.page(60)
    def missing() -> tuple[str, int]:
        runs.append("missing")
        return "nope", 404

    @app.post("/signin")
    def signin(request: Request) -> str:
        request.session["_auth_user_id"] = 1
        return "ok"

    @app.get("/session")
    @cache.page(60)
    def reads_session(request: Request) -> str:
        runs.append("session")
        return f"theme {request.session.get('theme', 'light')}"

    @app.post("/theme")
    def theme(request: Request) -> str:
        request.session["theme"] = "dark"
        return "ok"

    counter = iter(range(1, 100))
    app.template_globals["counter"] = lambda: next(counter)

    @app.get("/frag")
    def frag() -> Response:
        return render("frag.html")

    with TestClient(app) as client:
        yield client, runs


def test_second_request_is_served_from_the_cache(site: tuple[TestClient, list[str]]) -> None:
    client, runs = site
    first = client.get("/page")
    second = client.get("/page")
    assert first.text == second.text == "<p>page 1 en</p>"
    assert runs == ["page"]
    assert second.headers["etag"] == etag_for(b"<p>page 1 en</p>")
    assert client.get("/page?lang=fr").text == "<p>page 2 fr</p>"  # the query is in the key
    assert client.head("/page").status_code == 200
    assert runs == ["page", "page"]


def test_if_none_match_gets_304(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    etag = client.get("/page").headers["etag"]
    response = client.get("/page", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert client.get("/page", headers={"if-none-match": '"other"'}).status_code == 200


def test_declared_vary_header_is_in_the_key(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    assert client.get("/apage", headers={"accept-language": "fr"}).text == "<p>fr 1</p>"
    assert client.get("/apage", headers={"accept-language": "de"}).text == "<p>de 2</p>"
    assert client.get("/apage", headers={"accept-language": "fr"}).text == "<p>fr 1</p>"
    assert "accept-language" in client.get("/apage").headers["vary"].lower()


def test_response_vary_header_is_learned(site: tuple[TestClient, list[str]]) -> None:
    client, runs = site
    assert client.get("/varies", headers={"x-theme": "dark"}).text == "dark 1"
    assert client.get("/varies", headers={"x-theme": "light"}).text == "light 2"
    assert client.get("/varies", headers={"x-theme": "dark"}).text == "dark 1"
    assert runs == ["varies", "varies"]


@pytest.mark.parametrize("path", ["/cookie", "/form", "/private", "/missing"])
def test_never_stored(site: tuple[TestClient, list[str]], path: str) -> None:
    client, runs = site
    client.get(path)
    client.get(path)
    assert len(runs) == 2, f"{path} was served from the cache"


def test_signed_in_and_authorization_bypass_the_cache(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    assert client.get("/page").text == "<p>page 1 en</p>"
    assert client.get("/page", headers={"authorization": "Bearer x"}).text == "<p>page 2 en</p>"
    client.post("/signin")
    assert client.get("/page").text == "<p>page 3 en</p>"
    assert client.get("/page").text == "<p>page 4 en</p>"


def test_session_readers_are_keyed_by_cookie(site: tuple[TestClient, list[str]]) -> None:
    client, runs = site
    assert client.get("/session").text == "theme light"
    assert client.get("/session").text == "theme light"
    assert runs == ["session"]
    client.post("/theme")
    assert client.get("/session").text == "theme dark"  # another cookie: another entry
    assert "cookie" in client.get("/session").headers["vary"].lower()


def test_fragment_tag(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    assert client.get("/frag").text == "1<b>&lt;i&gt;</b>"
    assert client.get("/frag").text == "1<b>&lt;i&gt;</b>"  # rendered once


def test_conditional_helpers(tmp_path: Path) -> None:
    app = App(root=tmp_path)
    updated = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

    @app.get("/doc")
    def doc(request: Request) -> Response:
        return conditional(request, Response("body"), etag='"v3"', last_modified=updated)

    @app.get("/dated")
    def dated(request: Request) -> Response:
        if not_modified(request, last_modified=updated):
            return Response(b"", status=304)
        return Response("fresh")

    with TestClient(app) as client:
        response = client.get("/doc")
        assert response.headers["etag"] == '"v3"'
        assert response.headers["last-modified"] == "Sun, 01 Mar 2026 12:00:00 GMT"
        assert client.get("/doc", headers={"if-none-match": 'W/"v3"'}).status_code == 304
        assert client.get("/doc", headers={"if-none-match": "*"}).status_code == 304
        since = {"if-modified-since": "Sun, 01 Mar 2026 12:00:00 GMT"}
        assert client.get("/dated", headers=since).status_code == 304
        older = {"if-modified-since": "Sat, 28 Feb 2026 12:00:00 GMT"}
        assert client.get("/dated", headers=older).text == "fresh"
        assert client.get("/dated", headers={"if-modified-since": "garbage"}).text == "fresh"


def test_async_page_uses_async_cache(site: tuple[TestClient, list[str]]) -> None:
    client, runs = site
    client.get("/apage")
    client.get("/apage")
    assert runs == ["apage"]


def test_serve_cached_calls_a_cached_handler_from_another_handler(
    tmp_path: Path, cache: Cache
) -> None:
    app = App(root=tmp_path)
    runs: list[int] = []

    def listing(request: Request, page: int) -> str:
        runs.append(page)
        return f"<p>page {page}, run {len(runs)}</p>"

    async def alisting(request: Request, page: int) -> str:
        return listing(request, page)

    cached, acached = cache.page(60)(listing), cache.page(60)(alisting)

    @app.get("/list")
    def route(request: Request, page: int = 1) -> Any:
        return serve_cached(cached, request, request, page=page)

    @app.get("/alist")
    async def aroute(request: Request, page: int = 1) -> Any:
        return await serve_cached(acached, request, request, page=page)

    with TestClient(app) as client:
        first, again = client.get("/list?page=2"), client.get("/list?page=2")
        other = client.get("/list?page=3")
        afirst, aagain = client.get("/alist?page=2"), client.get("/alist?page=2")
    assert first.text == again.text == "<p>page 2, run 1</p>"
    assert other.text == "<p>page 3, run 2</p>"
    assert afirst.text == aagain.text == "<p>page 2, run 3</p>"  # its own URL, its own entry
    assert runs == [2, 3, 2]
