"""Create, retrieve, replace, update and delete: status codes, Location, 422s, model
permissions, the object-permission hook, and ETags with If-None-Match and If-Match, on
SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import pytest
from authsite import Site
from postsite import PostResource, grant, posts
from resourcemodels import Post

from kettle.exceptions import ConfigurationError
from kettle.resources import Resource
from kettle.testing import TestClient


def signed_in(site: Site, client: TestClient, username: str) -> None:
    site.login(client, username)


def test_create_needs_a_signed_in_user_with_the_add_permission(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    ann = site.user("ann")
    site.user("bob")
    with TestClient(site.app) as client:
        new = {"title": "Fresh", "author_id": ann.id}
        response = client.post("/api/posts", json=new)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        signed_in(site, client, "bob")
        response = client.post("/api/posts", json=new)
        assert response.status_code == 403
        assert "res_post.add" in response.json()["detail"]
        grant(site, "bob", "res_post.add")
        response = client.post("/api/posts", json=new)
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"/api/posts/{body['id']}"
        assert body["author"] == {"id": ann.id, "username": "ann"}
        assert body["score"] == 0
        assert body["stage"] == "draft"
        assert body["created"]
        assert response.headers["etag"] == client.get(response.headers["location"]).headers["etag"]


def test_bad_bodies_are_422s_naming_the_field(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    ann = site.user("ann", is_superuser=True)
    with TestClient(site.app) as client:
        signed_in(site, client, "ann")

        def error(body: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/api/posts", json=body)
            assert response.status_code == 422, response.text
            return response.json()["errors"][0]  # type: ignore[no-any-return]

        assert error({"author_id": ann.id})["loc"] == ["body", "title"]
        assert error({"title": "x" * 121, "author_id": ann.id})["loc"] == ["body", "title"]
        # score is read-only: sending it is an unknown field, named.
        assert "'score'" in error({"title": "x", "author_id": ann.id, "score": 5})["msg"]
        assert error({"title": "x", "author_id": ann.id, "stage": "gone"})["loc"] == [
            "body",
            "stage",
        ]
        missing = error({"title": "x", "author_id": 999_999})
        assert missing["loc"] == ["body", "author_id"]
        assert "no User" in missing["msg"]
        big = error({"title": "x", "author_id": 2**40})
        assert big["loc"] == ["body", "author_id"]
        assert error({"title": "x", "author_id": ann.id, "link": "nope"})["loc"][-1] == "link"
        assert Post.objects.__class__ is not None
        with site.db.session():
            assert Post.objects.count() == 0


def test_retrieve_etag_and_304(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    site.user("ann")
    [post_id] = posts(site, "ann", "Tea")
    with TestClient(site.app) as client:
        response = client.get(f"/api/posts/{post_id}")
        etag = response.headers["etag"]
        assert response.json()["title"] == "Tea"
        again = client.get(f"/api/posts/{post_id}", headers={"if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""
        with site.db.session():
            Post.objects.filter(id=post_id).update(body="changed")  # a field not shown
        changed = client.get(f"/api/posts/{post_id}", headers={"if-none-match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert client.get("/api/posts/999999").status_code == 404
        assert client.get(f"/api/posts/{2**40}").status_code == 404


def test_update_replace_and_delete_with_if_match(site: Site) -> None:
    site.app.resource("/api/posts", PostResource)
    ann = site.user("ann", is_superuser=True)
    bob = site.user("bob")
    [post_id] = posts(site, "ann", "Tea")
    url = f"/api/posts/{post_id}"
    with TestClient(site.app) as client:
        signed_in(site, client, "ann")
        etag = client.get(url).headers["etag"]
        response = client.patch(url, json={"title": "Tea, again"}, headers={"if-match": etag})
        assert response.status_code == 200, response.text
        assert response.json()["title"] == "Tea, again"
        assert response.headers["etag"] != etag
        # The first ETag is stale now: a lost update is refused.
        stale = client.patch(url, json={"title": "Overwritten"}, headers={"if-match": etag})
        assert stale.status_code == 412
        assert stale.headers["etag"] == response.headers["etag"]
        assert client.get(url).json()["title"] == "Tea, again"
        # PUT: required fields must be sent; the author changes through author_id.
        assert client.put(url, json={"title": "Only"}).status_code == 422
        replaced = client.put(url, json={"title": "Replaced", "author_id": bob.id})
        assert replaced.status_code == 200
        assert replaced.json()["author"] == {"id": bob.id, "username": "bob"}
        assert client.patch(url, json={"id": 5}).status_code == 422  # read-only
        assert client.delete(url, headers={"if-match": etag}).status_code == 412
        current = client.get(url).headers["etag"]
        assert client.delete(url, headers={"if-match": current}).status_code == 204
        assert client.get(url).status_code == 404
        assert client.delete(url).status_code == 404
        assert ann.id


class OwnPosts(PostResource):
    """Anyone signed in may write; only the author may change or delete a post."""

    model_permissions = False

    async def has_object_permission(self, request: Any, obj: Any, action: str) -> bool:
        return action == "retrieve" or obj.author_id == request.user.id

    async def perform_create(self, request: Any, obj: Any) -> None:
        obj.author_id = request.user.id
        await obj.asave()


class SyncOwnPosts(PostResource):
    """OwnPosts written with def hooks: the endpoints run in the thread pool."""

    model_permissions = False

    def has_object_permission(self, request: Any, obj: Any, action: str) -> bool:
        return action == "retrieve" or obj.author_id == request.user.id

    def perform_create(self, request: Any, obj: Any) -> None:
        obj.author_id = request.user.id
        obj.save()


@pytest.mark.parametrize("resource", [OwnPosts, SyncOwnPosts])
def test_object_permission_hook_def_or_async(site: Site, resource: type[Resource]) -> None:
    site.app.resource("/api/posts", resource)
    ann = site.user("ann")
    site.user("bob")
    [bobs] = posts(site, "bob", "Bob's")
    with TestClient(site.app) as client:
        signed_in(site, client, "ann")
        created = client.post("/api/posts", json={"title": "Mine", "author_id": ann.id})
        assert created.status_code == 201, created.text
        mine = created.headers["location"]
        assert client.patch(mine, json={"title": "Still mine"}).status_code == 200
        response = client.patch(f"/api/posts/{bobs}", json={"title": "Taken"})
        assert response.status_code == 403
        assert client.delete(f"/api/posts/{bobs}").status_code == 403
        assert client.get(f"/api/posts/{bobs}").status_code == 200
        listed = client.get("/api/posts?ordering=-title&author__username=ann").json()
        assert [item["title"] for item in listed["items"]] == ["Still mine"]
        assert client.delete(mine).status_code == 204


def test_resource_mistakes_are_named_at_start_up() -> None:
    from kettle import App

    def mount(**attributes: Any) -> None:
        App().resource("/api/posts", type("Bad", (PostResource,), attributes))

    with pytest.raises(ConfigurationError, match="no field 'nope'"):
        mount(fields=("id", "score", "nope"))
    with pytest.raises(ConfigurationError, match="relation"):
        mount(fields=("id", "score", "author"), nested={})
    with pytest.raises(ConfigurationError, match="unknown lookup 'near'"):
        mount(filters={"score": ("near",)})
    with pytest.raises(Exception, match="body"):
        mount(ordering=("body__x",))

    async def async_hook(self: Any, request: Any, obj: Any) -> None: ...

    def sync_hook(self: Any, request: Any, obj: Any, action: str) -> bool:
        return True

    with pytest.raises(ConfigurationError, match="mixes def hooks"):
        mount(perform_create=async_hook, has_object_permission=sync_hook)
    with pytest.raises(ConfigurationError, match="cursor pagination"):
        mount(pagination="cursor", ordering=("link",))
