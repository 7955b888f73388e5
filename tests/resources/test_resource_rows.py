"""Reads without ORM objects (``kettle.resources._rows``): what a list or a retrieve
renders from tuples is what the objects would render, ETags included, on SQLite,
PostgreSQL and MariaDB; and a last page tells its count without a COUNT."""

from __future__ import annotations

from typing import Any

from authsite import Site
from postsite import PostResource, RemarkedPostResource, posts, remark
from resourcemodels import Pin, Stage

from kettle.resources import Resource
from kettle.testing import TestClient, assert_num_queries


class PinResource(Resource):
    model = Pin
    fields = ("id", "label", "post")
    nested = {"post": ("id", "title", "stage")}


def without_remarks(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "remarks"}


def test_tuples_render_what_objects_render(site: Site) -> None:
    # RemarkedPostResource nests a to-many relation, so it reads objects: the reference.
    site.app.resource("/api/posts", PostResource)
    site.app.resource("/api/remarked", RemarkedPostResource, name="remarked")
    site.user("ann")
    [first, second] = posts(site, "ann", "Tea <b>&</b> time", "Oolong", stage=Stage.LIVE)
    remark(site, first, "nice")
    with TestClient(site.app) as client:
        rows = client.get("/api/posts?ordering=title").json()["items"]
        objects = client.get("/api/remarked?ordering=title").json()["items"]
        assert rows == [without_remarks(item) for item in objects]
        assert rows[1]["title"] == "Tea <b>&</b> time"
        assert rows[1]["stage"] == "live"
        assert rows[1]["link"] is None
        assert rows[1]["author"]["username"] == "ann"
        for post_id in (first, second):
            row, obj = client.get(f"/api/posts/{post_id}"), client.get(f"/api/remarked/{post_id}")
            assert row.json() == without_remarks(obj.json())
            assert row.headers["etag"] == obj.headers["etag"]
            assert client.get(f"/api/posts/{post_id}?fields=id,title").json() == {
                "id": post_id,
                "title": obj.json()["title"],
            }
        # The tuple read's ETag is the one a write checks.
        etag = client.get(f"/api/posts/{first}").headers["etag"]
        assert client.get(f"/api/posts/{first}", headers={"If-None-Match": etag}).status_code == 304
        missing = client.get("/api/posts/999999")
        assert missing.status_code == 404
        assert missing.json() == client.get("/api/remarked/999999").json()


def test_a_missing_to_one_relation_renders_as_null(site: Site) -> None:
    site.app.resource("/api/pins", PinResource)
    site.user("ann")
    [post_id] = posts(site, "ann", "Pinned")
    with site.db.session():
        loose = Pin(label="loose")
        loose.save()
        Pin(label="on a post", post_id=post_id).save()
    with TestClient(site.app) as client:
        items = client.get("/api/pins?fields=label,post").json()["items"]
        assert items == [
            {"label": "loose", "post": None},
            {"label": "on a post", "post": {"id": post_id, "title": "Pinned", "stage": "draft"}},
        ]
        assert client.get(f"/api/pins/{loose.id}").json() == {
            "id": loose.id,
            "label": "loose",
            "post": None,
        }


def test_a_last_page_tells_its_count_without_a_count(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)  # 2 a page
    site.user("ann")
    posts(site, "ann", *(f"post {i}" for i in range(5)))
    with TestClient(site.app) as client:
        client.get("/api/posts")  # warm: the app starts
        with assert_num_queries(2):  # a full page: its rows, then COUNT
            full = client.get("/api/posts").json()
        with assert_num_queries(1):  # 1 row of 2: the last page, so 4 + 1 rows
            last = client.get("/api/posts?page=3").json()
        for body in (full, last):
            assert (body["count"], body["pages"]) == (5, 3)
        assert last["next"] is None
        assert [item["title"] for item in last["items"]] == ["post 4"]
        gone = client.get("/api/posts?page=4")
        assert gone.status_code == 404
        assert "pages run from 1 to 3" in gone.json()["detail"]
