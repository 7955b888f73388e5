"""The change history: a LogEntry per add, change and delete (who, when, what, old → new),
shown per object, kept after the object is deleted, and on the dashboard."""

from __future__ import annotations

import re

from adminsite import Label, Post, Remark, Site, csrf_from, post_form, seed

from kettle.admin import LogEntry
from kettle.admin.forms import Change
from kettle.admin.history import ADD, CHANGE, DELETE, entry_for, history_of, log, log_many
from kettle.testing import TestClient


def entries(site: Site, table: str = "post") -> list[LogEntry]:
    with site.db.session():
        return list(LogEntry.objects.filter(table_name=table).order_by("id"))


def form(made: dict[str, object], **values: str) -> dict[str, str]:
    writer = made["ann"]
    return {
        "title": "Post 1",
        "writer": str(writer.id),  # type: ignore[attr-defined]
        "status": "draft",
        "score": "1",
        "body": "one two three",
        "remark-TOTAL_FORMS": "0",
        **values,
    }


def test_adding_records_who_and_what(site: Site, root: TestClient) -> None:
    made = seed(site.db, 0)
    post_form(root, "/admin/post/add", form(made, title="Fresh", score="7"))
    [entry] = entries(site)
    with site.db.session():
        post = Post.objects.get(title="Fresh")
    assert (entry.action, entry.object_id, entry.object_repr) == (ADD, str(post.id), "Fresh")
    assert entry.user_repr == "root"
    assert entry.user_id is not None
    assert entry.action_time is not None
    assert Change("Title", None, "Fresh") in entry.changed_fields()
    assert Change("Score", None, "7") in entry.changed_fields()
    assert Change("Writer", None, "Ann") in entry.changed_fields()


def test_changes_keep_old_and_new_values(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    url = f"/admin/post/{post.id}/change"
    with site.db.session():
        tea = Label.objects.get(name="tea")
    post_form(
        root,
        url,
        form(
            made,
            title="Renamed",
            status="published",
            writer=str(made["bob"].id),
            labels=str(tea.id),
            section=str(made["news"].id),
        ),
    )
    [entry] = entries(site)
    assert entry.action == CHANGE
    assert entry.changed_fields() == [
        Change("Title", "Post 1", "Renamed"),
        Change("Status", "Draft", "Published"),
        Change("Writer", "Ann", "Bob"),
        Change("Labels", None, "tea"),
    ]
    post_form(
        root,
        url,
        form(
            made,
            title="Renamed",
            status="published",
            writer=str(made["bob"].id),
            labels=str(tea.id),
            section=str(made["news"].id),
        ),
    )
    assert len(entries(site)) == 1  # nothing changed: nothing recorded


def test_inline_changes_join_the_parents_entry(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    with site.db.session():
        old = Remark.objects.create(post=post, text="Old", rating=1)
        gone = Remark.objects.create(post=post, text="Gone", rating=1)
    post_form(
        root,
        f"/admin/post/{post.id}/change",
        form(
            made,
            **{
                "section": str(made["news"].id),
                "remark-TOTAL_FORMS": "3",
                "remark-0-id": str(old.id),
                "remark-0-text": "Old",
                "remark-0-rating": "5",
                "remark-1-id": str(gone.id),
                "remark-1-text": "Gone",
                "remark-1-rating": "1",
                "remark-1-DELETE": "on",
                "remark-2-text": "New",
                "remark-2-rating": "3",
            },
        ),
    )
    [entry] = entries(site)
    assert entry.changed_fields() == [
        Change("Remark “Old”: Rating", "poor", "great"),
        Change("Remark “Gone”", "present", None),
        Change("Remark “New”", None, "added"),
    ]


def test_deletes_are_recorded_and_the_history_outlives_the_object(
    site: Site, root: TestClient
) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    url = f"/admin/post/{post.id}"
    post_form(root, f"{url}/change", form(made, title="Doomed", section=str(made["news"].id)))
    page = root.get(f"{url}/delete")
    post_form(root, f"{url}/delete", {"post": "yes"}, page.text)
    change, delete = entries(site)
    assert (delete.action, delete.object_repr, delete.object_id) == (DELETE, "Doomed", str(post.id))
    history = root.get(f"{url}/history")
    assert history.status_code == 200
    assert "Doomed (deleted)" in history.text
    rows = re.findall(r'<span class="badge (\w+)">', history.text)
    assert rows == ["delete", "change"]  # newest first
    assert "<del>Post 1</del>" in history.text
    assert "<ins>Doomed</ins>" in history.text
    assert change.user_repr in history.text


def test_bulk_actions_are_recorded(site: Site, root: TestClient) -> None:
    made = seed(site.db, 3)
    ids = [str(p.id) for p in made["posts"]]
    page = root.get("/admin/post/")
    root.post(
        "/admin/post/",
        data={"action": "publish", "_selected": ids[:2], "csrf_token": csrf_from(page.text)},
    )
    confirm = root.post(
        "/admin/post/",
        data={
            "action": "delete_selected",
            "_selected": ids[1:],
            "csrf_token": csrf_from(page.text),
        },
    )
    root.post(
        "/admin/post/",
        data={
            "action": "delete_selected",
            "_selected": ids[1:],
            "post": "yes",
            "csrf_token": csrf_from(confirm.text),
        },
    )
    found = [(e.action, e.object_id, e.message) for e in entries(site)]
    assert sorted(found[:2]) == sorted(
        (CHANGE, i, "Ran the action “Mark as published”.") for i in ids[:2]
    )
    assert sorted(found[2:]) == sorted((DELETE, i, "") for i in ids[1:])


def test_history_page_and_dashboard(site: Site, root: TestClient) -> None:
    made = seed(site.db, 1)
    post = made["posts"][0]
    assert "No changes were recorded" in root.get(f"/admin/post/{post.id}/history").text
    post_form(
        root,
        f"/admin/post/{post.id}/change",
        form(made, title="Seen", section=str(made["news"].id)),
    )
    history = root.get(f"/admin/post/{post.id}/history").text
    assert "History of" in history or "<h1>History</h1>" in history
    assert "<strong>Title</strong>" in history
    dashboard = root.get("/admin/").text
    assert f'<a href="/admin/post/{post.id}/change">Seen</a>' in dashboard
    assert root.get("/admin/post/999999/history").status_code == 404


def test_log_helpers(site: Site) -> None:
    made = seed(site.db, 2)
    first, second = made["posts"]

    class Someone:
        id = 42
        username = "ed"

    with site.db.session():
        entry = log(Someone(), first, CHANGE, [Change("Title", "a", "b")], "By hand.")
        assert str(entry) == "Changed Post 1"
        assert entry.action_label == "Changed"
        assert log_many(Someone(), [(first, "Post 1"), (second, "Post 2")], DELETE, "") == 2
        unsaved = entry_for(object(), second, ADD, repr_text="x" * 300)
        assert unsaved.user_id is None
        assert len(unsaved.object_repr) == 200
        found = list(history_of("post", str(first.id)))
        assert [e.action for e in found] == [DELETE, CHANGE]
        assert found[1].changed_fields() == [Change("Title", "a", "b")]
        assert found[1].user_id == 42
