"""Lists: filters, search, ordering, pages, cursors, ``?fields=`` and their 400s, on
SQLite, PostgreSQL and MariaDB; a constant number of statements whatever the page size."""

from __future__ import annotations

from authsite import Site
from postsite import PostResource, RemarkedPostResource, posts, remark
from resourcemodels import Post, Stage

from kettle.resources import Resource
from kettle.testing import TestClient, assert_num_queries


class CursorPostResource(Resource):
    model = Post
    fields = ("id", "title", "score")
    ordering = ("score", "title")
    default_ordering = ("-score",)
    pagination = "cursor"
    page_size = 3


def titles(response: object) -> list[str]:
    return [item["title"] for item in response.json()["items"]]  # type: ignore[attr-defined]


def test_filters_search_and_ordering(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    site.user("ann")
    site.user("bob")
    posts(site, "ann", "Tea at altitude", "Kettles compared", "On steeping")
    posts(site, "bob", "Green tea", stage=Stage.LIVE)
    with TestClient(site.app) as client:
        everything = "/api/posts?page_size=50"
        assert client.get(everything + "&author__username=bob").json()["count"] == 1
        assert titles(client.get(everything + "&score__gte=1&ordering=-score")) == [
            "On steeping",
            "Kettles compared",
        ]
        assert titles(client.get(everything + "&stage=live")) == ["Green tea"]
        assert len(titles(client.get(everything + "&stage__in=draft,live"))) == 4
        assert titles(client.get(everything + "&search=TEA&ordering=title")) == [
            "Green tea",
            "Tea at altitude",
        ]
        assert titles(client.get(everything + "&ordering=-title"))[0] == "Tea at altitude"
        assert client.get(everything + "&created__gte=2000-01-01T00:00:00Z").json()["count"] == 4


def test_what_is_not_declared_is_a_400_naming_it(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    with TestClient(site.app) as client:
        response = client.get("/api/posts?body__icontains=x")
        assert response.status_code == 400
        assert "'body__icontains'" in response.json()["detail"]
        assert "score__gte" in response.json()["detail"]  # the valid ones are listed
        response = client.get("/api/posts?ordering=-body")
        assert response.status_code == 400
        assert "'body'" in response.json()["detail"]
        assert "score" in response.json()["detail"]
        response = client.get("/api/posts?fields=id,secret")
        assert response.status_code == 400
        assert "'secret'" in response.json()["detail"]
        for bad in ("score__gte=ten", "created__gte=yesterday", "cursor=a"):
            response = client.get(f"/api/posts?{bad}")
            assert response.status_code == 400, (bad, response.text)
        for bad in ("page=0", "page=x", "page_size=-1", "page=²"):
            response = client.get(f"/api/posts?{bad}")
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["errors"][0]["loc"] == ["query", bad.split("=")[0]]
        assert client.get(f"/api/posts?page={10**30}").status_code == 404
        assert client.get("/api/posts?score__gte=99999999999999999999").status_code == 200
        assert client.get("/api/posts/1?fields=nope").status_code == 400


def test_pages_and_the_page_size_cap(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    site.user("ann")
    posts(site, "ann", *(f"post {i}" for i in range(5)))
    with TestClient(site.app) as client:
        first = client.get("/api/posts").json()
        assert (first["count"], first["page"], first["pages"]) == (5, 1, 3)
        assert first["previous"] is None
        assert len(first["items"]) == 2
        seen = [item["id"] for item in first["items"]]
        link = first["next"]
        while link:
            page = client.get(link).json()
            seen += [item["id"] for item in page["items"]]
            link = page["next"]
        assert sorted(seen) == seen
        assert len(set(seen)) == 5
        assert client.get("/api/posts?page=4").status_code == 404
        # Over the cap is clamped to max_page_size (50), not refused.
        big = client.get("/api/posts?page_size=1000").json()
        assert big["pages"] == 1
        assert len(big["items"]) == 5
        only = client.get("/api/posts?fields=id,title").json()["items"][0]
        assert set(only) == {"id", "title"}


class UncountedPostResource(PostResource):
    page_count = False


def test_pages_without_a_count_cost_one_statement(site: Site) -> None:
    site.app.resource("/api/posts", UncountedPostResource)
    site.user("ann")
    posts(site, "ann", *(f"post {i}" for i in range(5)))
    with TestClient(site.app) as client:
        client.get("/api/posts")
        with assert_num_queries(1):  # the page and its authors, no COUNT
            first = client.get("/api/posts").json()
        assert "count" not in first
        assert "pages" not in first
        seen, link = [], "/api/posts"
        while link:
            body = client.get(link).json()
            seen += [item["id"] for item in body["items"]]
            link = body["next"]
        assert sorted(seen) == seen
        assert len(seen) == 5
        assert client.get("/api/posts?page=3").json()["previous"] == "/api/posts?page=2"
        assert client.get("/api/posts?page=4").status_code == 404


def test_cursor_pages_hold_every_row_once(site: Site) -> None:
    site.app.resource("/api/posts", CursorPostResource)
    site.user("ann")
    posts(site, "ann", *(f"post {i}" for i in range(4)))
    posts(site, "ann", *(f"tie {i}" for i in range(4)))  # scores 0-3 again: ties
    with TestClient(site.app) as client:
        first = client.get("/api/posts").json()
        assert "count" not in first
        assert "previous" not in first
        seen, link, pages = [], "/api/posts", 0
        while link:
            body = client.get(link).json()
            seen += [(item["score"], item["id"]) for item in body["items"]]
            link, pages = body["next"], pages + 1
        assert len(seen) == len(set(seen)) == 8
        assert pages == 3
        assert [s for s, _ in seen] == sorted((s for s, _ in seen), reverse=True)
        by_title = client.get("/api/posts?ordering=title").json()["next"]
        token = by_title.split("cursor=")[1]
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        for bad in (tampered, "not-a-cursor", ""):
            response = client.get(f"/api/posts?ordering=title&cursor={bad}")
            assert response.status_code in (200, 400)
            if bad:
                assert response.status_code == 400, response.text
                assert "cursor" in response.json()["detail"]
        # A cursor made for one ordering does not page another.
        response = client.get(f"/api/posts?ordering=-score&cursor={token}")
        assert response.status_code == 400
        assert "ordering=title" in response.json()["detail"]
        assert client.get("/api/posts?page=2").status_code == 400


def test_a_page_costs_the_same_statements_for_1_row_or_50(site: Site) -> None:
    site.app.resource("/api/posts", RemarkedPostResource)
    site.user("ann")
    site.user("bob")
    ids = posts(site, "ann", *(f"post {i}" for i in range(30)))
    ids += posts(site, "bob", *(f"more {i}" for i in range(30)))
    for post_id in ids[::3]:
        remark(site, post_id, "first", "second")
    with TestClient(site.app) as client:
        client.get("/api/posts?page_size=1")  # warm: the app starts, permissions sync
        for size in (1, 50):
            # COUNT, the page with its authors (a JOIN), the remarks (one SELECT ... IN).
            with assert_num_queries(3):
                response = client.get(f"/api/posts?page_size={size}&ordering=-score")
            assert len(response.json()["items"]) == size
        items = client.get("/api/posts?page_size=50&ordering=title").json()["items"]
        assert any(item["remarks"] for item in items)
        assert all(item["author"]["username"] in ("ann", "bob") for item in items)
