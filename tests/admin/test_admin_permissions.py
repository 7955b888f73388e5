"""Every admin page checks the model permissions of the user: view, add, change and delete,
on the model, on inline rows, on what a delete cascades to, and per object through
kettle.auth's object permission hooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adminsite import (
    Post,
    PostAdmin,
    Remark,
    Site,
    Status,
    all_perms,
    csrf_from,
    post_form,
    seed,
)

from kettle.testing import TestClient


@contextmanager
def signed_in(site: Site, username: str, perms: list[str]) -> Iterator[TestClient]:
    site.user(username, perms=perms)
    client = site.client(username)
    try:
        yield client
    finally:
        client.__exit__(None, None, None)


def post_data(made: dict[str, Any], **values: str) -> dict[str, str]:
    return {
        "title": "Post 1",
        "writer": str(made["ann"].id),
        "status": "draft",
        "score": "1",
        "remark-TOTAL_FORMS": "0",
        **values,
    }


def test_view_only_users_read_but_never_write(site: Site) -> None:
    made = seed(site.db, 2)
    post = made["posts"][0]
    with signed_in(site, "viewer", ["post.view", "writer.view"]) as client:
        listing = client.get("/admin/post/")
        assert listing.status_code == 200
        assert "Add post" not in listing.text
        assert 'name="action"' not in listing.text  # no action this user may run
        page = client.get(f"/admin/post/{post.id}/change")
        assert page.status_code == 200
        assert "You may view this post but not change it." in page.text
        assert 'name="title"' not in page.text
        assert "Save" not in page.text
        assert client.get(f"/admin/post/{post.id}/history").status_code == 200
        token = csrf_from(page.text)
        refused = [
            client.post(
                f"/admin/post/{post.id}/change", data={**post_data(made), "csrf_token": token}
            ),
            client.post("/admin/post/add", data={**post_data(made), "csrf_token": token}),
            client.post(f"/admin/post/{post.id}/delete", data={"post": "yes", "csrf_token": token}),
            client.get("/admin/post/add"),
            client.get(f"/admin/post/{post.id}/delete"),
        ]
        assert [r.status_code for r in refused] == [403] * 5
        bulk = client.post(
            "/admin/post/",
            data={
                "action": "delete_selected",
                "_selected": [str(post.id)],
                "post": "yes",
                "csrf_token": token,
            },
        )
        assert bulk.status_code == 400  # not an action this user is offered
    with site.db.session():
        assert Post.objects.count() == 2
        assert Post.objects.get(id=post.id).title == "Post 1"


def test_models_without_view_permission_are_hidden_and_refused(site: Site) -> None:
    made = seed(site.db, 1)
    with signed_in(site, "writers-only", ["writer.view", "writer.change"]) as client:
        dashboard = client.get("/admin/").text
        assert 'href="/admin/writer/"' in dashboard
        assert 'href="/admin/post/"' not in dashboard
        assert client.get("/admin/post/").status_code == 403
        assert client.get(f"/admin/post/{made['posts'][0].id}/change").status_code == 403
        assert client.get(f"/admin/post/{made['posts'][0].id}/history").status_code == 403
        assert client.get("/admin/section/autocomplete?term=n").status_code == 403
        assert client.get("/admin/writer/autocomplete?term=a").status_code == 200
        page = client.get("/admin/post/", headers={"accept": "text/html"})
        assert "You do not have permission to view posts." in page.text


def test_change_permission_implies_view_and_unlocks_the_form(site: Site) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with signed_in(site, "editor", ["post.change", "writer.view"]) as client:
        listing = client.get("/admin/post/")
        assert '<option value="publish">Mark as published</option>' in listing.text
        assert '<option value="delete_selected">' not in listing.text
        url = f"/admin/post/{post.id}/change"
        response = post_form(client, url, post_data(made, title="Edited"))
        assert response.status_code == 303
        assert "Delete" not in client.get(url).text.split("submit-row")[-1]
    with site.db.session():
        assert Post.objects.get(id=post.id).title == "Edited"


def test_add_permission_alone(site: Site) -> None:
    made = seed(site.db, 0)
    with signed_in(site, "adder", ["post.add", "writer.view"]) as client:
        assert client.get("/admin/post/add").status_code == 200
        response = post_form(client, "/admin/post/add", post_data(made, title="Added"))
        assert response.status_code == 303
        assert client.get("/admin/post/").status_code == 403  # no view permission
    with site.db.session():
        assert Post.objects.get(title="Added").status == Status.DRAFT


def test_inline_rows_follow_the_inline_models_permissions(site: Site) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        remark = Remark.objects.create(post=post, text="Kept", rating=3)
    url = f"/admin/post/{post.id}/change"
    sneaky = post_data(
        made,
        **{
            "remark-TOTAL_FORMS": "2",
            "remark-0-id": str(remark.id),
            "remark-0-text": "Rewritten",
            "remark-0-rating": "1",
            "remark-0-DELETE": "on",
            "remark-1-text": "Smuggled in",
            "remark-1-rating": "5",
        },
    )
    with signed_in(site, "no-remarks", [*all_perms("post"), "writer.view"]) as client:
        page = client.get(url).text
        assert "remark-TOTAL_FORMS" not in page
        assert post_form(client, url, sneaky, page).status_code == 303
    with signed_in(
        site, "remark-viewer", [*all_perms("post"), "writer.view", "remark.view"]
    ) as client:
        page = client.get(url).text
        assert "Kept" in page
        assert 'name="remark-0-text"' not in page  # read-only rows
        assert "Add another remark" not in page
        assert "remark-0-DELETE" not in page
        assert post_form(client, url, sneaky, page).status_code == 303
    with site.db.session():
        assert [(r.text, r.rating) for r in Remark.objects.all()] == [("Kept", 3)]


def test_deleting_needs_permission_for_what_cascades(site: Site) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        Remark.objects.create(post=post, text="Cascades", rating=3)
    with signed_in(site, "deleter", ["post.view", "post.delete", "remark.view"]) as client:
        url = f"/admin/post/{post.id}/delete"
        page = client.get(url)
        assert "Your account has no permission to delete: remarks." in page.text
        assert post_form(client, url, {"post": "yes"}, page.text).status_code == 403
        listing = client.get("/admin/post/")
        bulk = client.post(
            "/admin/post/",
            data={
                "action": "delete_selected",
                "_selected": [str(post.id)],
                "post": "yes",
                "csrf_token": csrf_from(listing.text),
            },
        )
        assert "no permission to delete: remarks" in bulk.text
    with site.db.session():
        assert Post.objects.filter(id=post.id).exists()


def test_object_permission_hooks_decide_per_object(site: Site) -> None:
    made = seed(site.db, 2)
    mine, theirs = made["posts"]

    @site.auth.object_permission
    def only_odd_scores(user: Any, perm: str, obj: Any) -> bool | None:
        if isinstance(obj, Post) and perm in ("post.change", "post.delete"):
            return obj.score % 2 == 1
        return None

    with signed_in(site, "hooked", [*all_perms("post"), "writer.view"]) as client:
        assert 'name="title"' in client.get(f"/admin/post/{mine.id}/change").text
        locked = client.get(f"/admin/post/{theirs.id}/change").text
        assert 'name="title"' not in locked
        assert (
            post_form(client, f"/admin/post/{theirs.id}/change", post_data(made)).status_code == 403
        )
        assert client.get(f"/admin/post/{theirs.id}/delete").status_code == 403


def test_get_queryset_limits_every_page(site: Site) -> None:
    made = seed(site.db, 4)

    class AnnsPosts(PostAdmin):
        def get_queryset(self, request: Any) -> Any:
            return super().get_queryset(request).filter(writer__name="Ann")

    site.admin.register(Post, AnnsPosts)
    hidden = next(p for p in made["posts"] if p.writer_id == made["bob"].id)
    with signed_in(site, "limited", [*all_perms("post"), "writer.view"]) as client:
        assert "Post 2" not in client.get("/admin/post/").text
        for page in ("change", "delete"):
            assert client.get(f"/admin/post/{hidden.id}/{page}").status_code == 404
        listing = client.get("/admin/post/")
        client.post(
            "/admin/post/",
            data={
                "action": "publish",
                "_selected": [str(p.id) for p in made["posts"]],
                "csrf_token": csrf_from(listing.text),
            },
        )
    with site.db.session():
        assert Post.objects.get(id=hidden.id).status == Status.DRAFT
