"""The admin's pages end to end, through the app: lists, forms, inlines, deletes, actions
and autocomplete, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import re

from adminsite import (
    Label,
    Post,
    Remark,
    Reply,
    Shelf,
    ShelfItem,
    Site,
    Status,
    Writer,
    csrf_from,
    post_form,
    seed,
)

from kettle.testing import TestClient

HTML = {"accept": "text/html"}


def titles(html: str) -> list[str]:
    """The post titles linked in a list page, in order."""
    return re.findall(r'href="/admin/post/\d+/change">([^<]+)</a>', html)


# --- the list ---------------------------------------------------------------------------------
def test_list_shows_columns_and_pages(site: Site, root: TestClient) -> None:
    seed(site.db, 25)
    page = root.get("/admin/post/")
    assert page.status_code == 200
    assert titles(page.text) == [f"Post {n}" for n in range(25, 15, -1)]
    assert "25 posts" in page.text
    assert re.search(r'class="sortable">\s*<a href="\?o=title">Title', page.text)
    second = root.get("/admin/post/?p=3")
    assert titles(second.text) == [f"Post {n}" for n in range(5, 0, -1)]
    assert 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text


def test_list_search_is_case_insensitive_and_spans_relations(site: Site, root: TestClient) -> None:
    seed(site.db, 12)
    assert titles(root.get("/admin/post/?q=post+11").text) == ["Post 11"]
    by_writer = titles(root.get("/admin/post/?q=BOB").text)
    assert by_writer == [f"Post {n}" for n in (12, 10, 8, 6, 4, 2)]
    assert "No posts match." in root.get("/admin/post/?q=nothing-like-this").text


def test_list_filters(site: Site, root: TestClient) -> None:
    made = seed(site.db, 6)
    published = titles(root.get("/admin/post/?status__exact=published").text)
    assert published == ["Post 6", "Post 3"]
    ann = made["ann"].id
    assert titles(root.get(f"/admin/post/?writer__id__exact={ann}").text) == [
        "Post 5",
        "Post 3",
        "Post 1",
    ]
    both = root.get(f"/admin/post/?writer__id__exact={ann}&status__exact=draft&q=post")
    assert titles(both.text) == ["Post 5", "Post 1"]
    assert titles(root.get("/admin/post/?featured__exact=1").text) == []
    assert len(titles(root.get("/admin/post/?featured__exact=0").text)) == 6
    with site.db.session():
        old_day = dt.datetime(2001, 2, 3, 10, tzinfo=dt.UTC)
        Post.objects.filter(title="Post 2").update(created=old_day)
    old = root.get("/admin/post/?created__gte=2001-01-01&created__lte=2001-02-03")
    assert titles(old.text) == ["Post 2"]
    assert titles(root.get("/admin/post/?created__lt=2001-02-03").text) == []
    page = root.get("/admin/post/")
    assert "By status" in page.text
    assert "Past 7 days" in page.text


def test_bad_filter_values_are_400s(root: TestClient) -> None:
    for query in (
        "status__exact=archived",
        "featured__exact=maybe",
        "writer__id__exact=ann",
        "created__gte=yesterday",
        "o=secret",
        "p=0",
        "p=x",
    ):
        response = root.get(f"/admin/post/?{query}")
        assert response.status_code == 400, query
        assert response.json()["detail"]


def test_list_sorting_by_header(site: Site, root: TestClient) -> None:
    seed(site.db, 4)
    assert titles(root.get("/admin/post/?o=title").text) == ["Post 1", "Post 2", "Post 3", "Post 4"]
    page = root.get("/admin/post/?o=-score")
    assert titles(page.text) == ["Post 4", "Post 3", "Post 2", "Post 1"]
    assert 'aria-sort="descending"' in page.text
    by_writer = titles(root.get("/admin/post/?o=writer").text)
    assert by_writer == ["Post 3", "Post 1", "Post 4", "Post 2"]  # Ann, Bob; then newest
    refused = root.get("/admin/post/?o=password")
    assert refused.status_code == 400
    assert "sortable columns: title, writer, status, featured, score, created" in refused.text


def test_page_out_of_range(site: Site, root: TestClient) -> None:
    seed(site.db, 3)
    assert root.get("/admin/post/?p=2").status_code == 400
    assert root.get("/admin/nosuchmodel/").status_code == 404


# --- add and change -------------------------------------------------------------------------------
def test_add_shows_errors_inline_then_saves(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    page = root.get("/admin/post/add")
    assert page.status_code == 200
    assert 'name="title"' in page.text
    assert 'name="created"' not in page.text
    assert 'name="secret"' not in page.text  # editable=False and not listed
    bad = {
        "title": "Buy spam now",
        "url": "javascript:alert(1)",
        "score": "lots",
        "status": "draft",
        "writer": str(made["ann"].id),
        "remark-TOTAL_FORMS": "0",
        "csrf_token": csrf_from(page.text),
    }
    response = root.post("/admin/post/add", data=bad)
    assert response.status_code == 400
    assert "Please correct the 3 errors below." in response.text
    assert "Titles may not mention spam." in response.text
    assert "Enter a valid http:// or https:// URL." in response.text
    assert "Enter a whole number." in response.text
    assert 'value="Buy spam now"' in response.text  # what was typed stays
    assert 'aria-invalid="true"' in response.text
    with site.db.session():
        assert Post.objects.count() == 1
    good = {**bad, "title": "Fresh tea", "url": "https://example.org", "score": "4"}
    good["csrf_token"] = csrf_from(response.text)
    saved = root.post("/admin/post/add", data=good)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/admin/post/"
    with site.db.session():
        post = Post.objects.get(title="Fresh tea")
        assert (post.score, post.url, post.status, post.writer_id) == (
            4,
            "https://example.org",
            Status.DRAFT,
            made["ann"].id,
        )
    listing = root.get("/admin/post/")
    assert "The post “Fresh tea” was added." in listing.text


def test_required_relation_and_blank_text(site: Site, root: TestClient) -> None:
    response = post_form(root, "/admin/post/add", {"title": "", "status": "draft"})
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert "This field is required." in response.text
    assert post_form(root, "/admin/post/add", {"writer": "99999", "title": "x"}).status_code == 400


def test_change_saves_only_the_form_fields(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    url = f"/admin/post/{post.id}/change"
    page = root.get(url)
    assert 'value="Post 1"' in page.text
    assert "Words" in page.text or "Word count" in page.text
    data = {
        "title": "Renamed",
        "status": "published",
        "writer": str(made["bob"].id),
        "score": "1",
        # Not in the form: read-only, non-editable or no field at all.
        "created": "1999-01-01T00:00:00",
        "secret": "pwned",
        "id": "4242",
        "word_count": "1000",
        "remark-TOTAL_FORMS": "0",
        "_continue": "1",
    }
    response = post_form(root, url, data, page.text)
    assert response.status_code == 303
    assert response.headers["location"] == url
    with site.db.session():
        saved = Post.objects.get(id=post.id)
        assert (saved.title, saved.status, saved.writer_id) == (
            "Renamed",
            Status.PUBLISHED,
            made["bob"].id,
        )
        assert saved.secret == ""
        assert saved.created.year != 1999
        assert not Post.objects.filter(id=4242).exists()


def test_save_and_add_another(site: Site, root: TestClient) -> None:
    made = seed(site.db, 0)
    data = {"title": "One", "writer": str(made["ann"].id), "_addanother": "1"}
    response = post_form(root, "/admin/post/add", data)
    assert response.headers["location"] == "/admin/post/add"


def test_many_to_many_and_section(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    with site.db.session():
        tea = Label.objects.get(name="tea")
        coffee = Label.objects.create(name="coffee")
    post = made["posts"][0]
    url = f"/admin/post/{post.id}/change"
    data = {
        "title": "Labelled",
        "writer": str(made["ann"].id),
        "labels": [str(tea.id), str(coffee.id)],
        "section": "",
        "status": "draft",
        "score": "0",
        "remark-TOTAL_FORMS": "0",
    }
    assert post_form(root, url, data).status_code == 303
    with site.db.session():
        saved = Post.objects.prefetch_related("labels").get(id=post.id)
        assert sorted(label.name for label in saved.labels) == ["coffee", "tea"]
        assert saved.section_id is None
    page = root.get(url).text
    assert f'<option value="{tea.id}" selected>tea</option>' in page


def test_unique_fields_are_checked(site: Site, root: TestClient) -> None:
    seed(site.db, 0)
    response = post_form(root, "/admin/writer/add", {"name": "Ann", "active": "on"})
    assert response.status_code == 400
    assert "A writer with this name already exists." in response.text


def test_missing_object_is_404(root: TestClient) -> None:
    assert root.get("/admin/post/12345/change").status_code == 404
    assert root.get("/admin/post/abc/change").status_code == 404
    page = root.get("/admin/post/12345/change", headers=HTML)
    assert page.status_code == 404
    assert "Not found" in page.text
    assert "Back to the dashboard" in page.text


# --- inlines --------------------------------------------------------------------------------------
def inline_rows(html: str) -> list[str]:
    return re.findall(r'name="remark-(\d+)-text" id="[^"]+" value="([^"]*)"', html)  # type: ignore[arg-type]


def test_inline_rows_add_change_delete(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    url = f"/admin/post/{post.id}/change"
    base = {"title": "Post 1", "writer": str(made["ann"].id), "score": "1", "status": "draft"}
    added = post_form(
        root,
        url,
        {
            **base,
            "remark-TOTAL_FORMS": "2",
            "remark-0-text": "Lovely",
            "remark-0-rating": "5",
            "remark-1-text": "",
            "remark-1-rating": "3",  # the untouched extra row: skipped
        },
    )
    assert added.status_code == 303, added.text
    with site.db.session():
        [remark] = Remark.objects.filter(post_id=post.id)
        assert (remark.text, remark.rating) == ("Lovely", 5)
        Remark.objects.create(post=post, text="Meh", rating=1)
    page = root.get(url)
    assert 'value="Lovely"' in page.text
    assert 'value="Meh"' in page.text
    with site.db.session():
        ids = [r.id for r in Remark.objects.filter(post_id=post.id).order_by("id")]
    changed = post_form(
        root,
        url,
        {
            **base,
            "remark-TOTAL_FORMS": "3",
            "remark-0-id": str(ids[0]),
            "remark-0-text": "Lovely, really",
            "remark-0-rating": "5",
            "remark-1-id": str(ids[1]),
            "remark-1-text": "Meh",
            "remark-1-rating": "1",
            "remark-1-DELETE": "on",
            "remark-2-text": "New one",
            "remark-2-rating": "3",
        },
        page.text,
    )
    assert changed.status_code == 303, changed.text
    with site.db.session():
        rows = [(r.text, r.rating) for r in Remark.objects.filter(post_id=post.id).order_by("id")]
    assert rows == [("Lovely, really", 5), ("New one", 3)]


def test_inline_errors_keep_everything_unsaved(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    url = f"/admin/post/{post.id}/change"
    response = post_form(
        root,
        url,
        {
            "title": "Changed title",
            "writer": str(made["ann"].id),
            "status": "draft",
            "remark-TOTAL_FORMS": "1",
            "remark-0-text": "x" * 201,
            "remark-0-rating": "3",
        },
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 201)." in response.text
    with site.db.session():
        assert Post.objects.get(id=post.id).title == "Post 1"
        assert Remark.objects.count() == 0


def test_inline_rows_of_other_objects_are_refused(site: Site, root: TestClient) -> None:
    made = seed(site.db, 2)
    first, second = made["posts"]
    with site.db.session():
        theirs = Remark.objects.create(post=second, text="Not yours", rating=1)
    response = post_form(
        root,
        f"/admin/post/{first.id}/change",
        {
            "title": "Post 1",
            "writer": str(made["ann"].id),
            "status": "draft",
            "remark-TOTAL_FORMS": "1",
            "remark-0-id": str(theirs.id),
            "remark-0-text": "Hijacked",
            "remark-0-rating": "1",
            "remark-0-DELETE": "on",
        },
    )
    assert response.status_code == 400
    assert f"no remark #{theirs.id} belongs to this post" in response.text
    with site.db.session():
        assert Remark.objects.get(id=theirs.id).text == "Not yours"


def test_inline_on_the_add_page(site: Site, root: TestClient) -> None:
    made = seed(site.db, 0)
    response = post_form(
        root,
        "/admin/post/add",
        {
            "title": "With remarks",
            "writer": str(made["ann"].id),
            "status": "draft",
            "remark-TOTAL_FORMS": "1",
            "remark-0-text": "First!",
            "remark-0-rating": "5",
        },
    )
    assert response.status_code == 303
    with site.db.session():
        post = Post.objects.get(title="With remarks")
        assert [r.text for r in Remark.objects.filter(post_id=post.id)] == ["First!"]


# --- delete ---------------------------------------------------------------------------------------
def test_delete_lists_the_cascade_then_deletes(site: Site, root: TestClient) -> None:
    made = seed(site.db, 2)
    post = made["posts"][0]
    with site.db.session():
        remark = Remark.objects.create(post=post, text="Nice", rating=5)
        Reply.objects.create(remark=remark, text="Thanks")
        post.labels = [Label.objects.get(name="tea")]
        post.save()
    url = f"/admin/post/{post.id}/delete"
    page = root.get(url)
    assert page.status_code == 200
    for line in ("1 post", "1 remark", "1 reply", "1 post_labels link"):
        assert f"<li>{line}</li>" in page.text, line
    assert "Remark: Nice" in page.text
    assert "Reply: Thanks" in page.text
    done = post_form(root, url, {"post": "yes"}, page.text)
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/post/"
    with site.db.session():
        assert not Post.objects.filter(id=post.id).exists()
        assert Remark.objects.count() == 0
        assert Reply.objects.count() == 0
        assert Post.objects.count() == 1
    assert "was deleted" in root.get("/admin/post/").text


def test_delete_shows_set_null_links(site: Site, root: TestClient) -> None:
    made = seed(site.db, 2)
    page = root.get(f"/admin/section/{made['news'].id}/delete")
    assert "These stay but lose their link:" in page.text
    assert "2 posts" in page.text


def test_protected_rows_refuse_the_delete(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        shelf = Shelf.objects.create(name="Best of")
        ShelfItem.objects.create(shelf=shelf, post=post)
    url = f"/admin/post/{post.id}/delete"
    page = root.get(url)
    assert "cannot be deleted: other rows are protected" in page.text
    assert "shelf_item.post_id, PROTECT" in page.text
    assert 'name="post" value="yes"' not in page.text
    refused = post_form(root, url, {"post": "yes"}, page.text)
    assert refused.status_code == 409
    with site.db.session():
        assert Post.objects.filter(id=post.id).exists()


def test_bulk_delete_with_confirmation(site: Site, root: TestClient) -> None:
    made = seed(site.db, 4)
    ids = [str(p.id) for p in made["posts"][:3]]
    page = root.get("/admin/post/")
    confirm = root.post(
        "/admin/post/",
        data={"action": "delete_selected", "_selected": ids, "csrf_token": csrf_from(page.text)},
    )
    assert confirm.status_code == 200
    assert "Delete 3 posts?" in confirm.text
    assert "<li>3 posts</li>" in confirm.text
    with site.db.session():
        assert Post.objects.count() == 4
    done = root.post(
        "/admin/post/",
        data={
            "action": "delete_selected",
            "_selected": ids,
            "post": "yes",
            "csrf_token": csrf_from(confirm.text),
        },
    )
    assert done.status_code == 303
    with site.db.session():
        assert [p.title for p in Post.objects.all()] == ["Post 4"]
    assert "Deleted 3 posts." in root.get("/admin/post/").text


def test_custom_action(site: Site, root: TestClient) -> None:
    made = seed(site.db, 3)
    page = root.get("/admin/post/?status__exact=draft")
    assert '<option value="publish">Mark as published</option>' in page.text
    ids = [str(p.id) for p in made["posts"][:2]]
    response = root.post(
        "/admin/post/?status__exact=draft",
        data={"action": "publish", "_selected": ids, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/post/?status__exact=draft"
    with site.db.session():
        assert Post.objects.filter(status=Status.PUBLISHED).count() == 3
    assert "2 posts published." in root.get(response.headers["location"]).text


def test_action_needs_rows_and_a_known_name(site: Site, root: TestClient) -> None:
    seed(site.db, 1)
    page = root.get("/admin/post/")
    token = csrf_from(page.text)
    empty = root.post("/admin/post/", data={"action": "publish", "csrf_token": token})
    assert empty.status_code == 303
    assert "Tick the rows" in root.get("/admin/post/").text
    unknown = root.post(
        "/admin/post/",
        data={"action": "drop_tables", "_selected": ["1"], "csrf_token": csrf_from(page.text)},
    )
    assert unknown.status_code == 400


# --- autocomplete ---------------------------------------------------------------------------------
def test_autocomplete_endpoint_and_widget(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    with site.db.session():
        for n in range(25):
            Writer.objects.create(name=f"Annabel {n:02}")
    found = root.get("/admin/writer/autocomplete?term=ann").json()
    assert len(found["results"]) == 20
    assert found["more"] is True
    assert {"id": str(made["ann"].id), "text": "Ann"} in found["results"]
    more = root.get("/admin/writer/autocomplete?term=ann&page=2").json()
    assert len(more["results"]) == 6
    assert more["more"] is False
    assert root.get("/admin/writer/autocomplete?term=zzz").json() == {"results": [], "more": False}
    page = root.get(f"/admin/post/{made['posts'][0].id}/change").text
    assert 'class="autocomplete" data-url="/admin/writer/autocomplete"' in page
    assert 'data-label="Ann"' in page


def test_inline_rows_are_renumbered_when_shown_again(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        first = Remark.objects.create(post=post, text="First", rating=1)
        Remark.objects.create(post=post, text="Added meanwhile", rating=1)
    response = post_form(
        root,
        f"/admin/post/{post.id}/change",
        {
            "title": "",  # an error, so the page comes back
            "writer": str(made["ann"].id),
            "status": "draft",
            "score": "1",
            "remark-TOTAL_FORMS": "3",
            "remark-0-id": "999999",  # refused, and not shown again
            "remark-2-id": str(first.id),
            "remark-2-text": "First, edited",
            "remark-2-rating": "5",
        },
    )
    assert response.status_code == 400
    assert 'name="remark-TOTAL_FORMS" value="2"' in response.text
    assert 'name="remark-0-text" id="id_remark-0-text" value="First, edited"' in response.text
    assert 'name="remark-1-text" id="id_remark-1-text" value="Added meanwhile"' in response.text
    with site.db.session():
        assert Remark.objects.get(id=first.id).text == "First"
