"""Editors hide, feature and lock from the site and the admin; readers may not."""

from __future__ import annotations

from news.models import Article, Comment
from news.roles import EDITOR
from newssite import Site, csrf_from


def test_a_hidden_article_is_a_404_to_readers_and_marked_for_editors(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    article = site.article(ann, "Spam, spam, eggs")
    editor = site.client("ed")
    response = site.post(editor, f"/articles/{article.id}/moderate", {"action": "hide"})
    assert response.status_code == 303
    assert "The article is hidden" in editor.get(response.headers["location"]).text
    reader = site.client("ann")
    assert reader.get(f"/articles/{article.id}").status_code == 404
    assert "Spam, spam, eggs" not in reader.get("/").text
    assert "Spam, spam, eggs" not in reader.get("/new").text
    page = editor.get(f"/articles/{article.id}")
    assert page.status_code == 200
    assert "badge danger" in page.text
    site.post(editor, f"/articles/{article.id}/moderate", {"action": "unhide"})
    assert reader.get(f"/articles/{article.id}").status_code == 200


def test_featured_articles_are_pinned_and_locked_ones_take_nothing(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    old = site.article(ann, "Old but important", age_hours=200, points=0)
    site.article(ann, "Hot today", points=50)
    editor = site.client("ed")
    site.post(editor, f"/articles/{old.id}/moderate", {"action": "feature"})
    site.post(editor, f"/articles/{old.id}/moderate", {"action": "lock"})
    front = site.client().get("/").text
    assert front.index("Old but important") < front.index("Hot today")
    assert 'class="pinned"' in front
    found = site.get(Article, old.id)
    assert (found.featured, found.locked) == (True, True)
    response = site.post(site.client("ann"), f"/articles/{old.id}/vote")
    assert site.get(Article, old.id).points == 0
    assert response.status_code == 303


def test_hidden_comments_vanish_for_readers_with_their_replies(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    article = site.article(ann)
    rude = site.comment(article, ann, "Something rude")
    site.comment(article, ann, "Reply to rude", parent=rude)
    site.comment(article, ann, "Polite")
    editor = site.client("ed")
    assert site.post(editor, f"/comments/{rude.id}/moderate", {"action": "hide"}).status_code == 303
    reader_page = site.client().get(f"/articles/{article.id}").text
    assert "Something rude" not in reader_page
    assert "Reply to rude" not in reader_page
    assert "Polite" in reader_page
    editor_page = editor.get(f"/articles/{article.id}").text
    assert "Something rude" in editor_page
    assert "comment is-hidden" in editor_page
    assert site.get(Comment, rude.id).hidden is True


def test_readers_may_not_moderate_and_unknown_actions_are_refused(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    article = site.article(ann)
    comment = site.comment(article, ann)
    reader = site.client("ann")
    assert (
        site.post(reader, f"/articles/{article.id}/moderate", {"action": "hide"}).status_code == 403
    )
    assert (
        site.post(reader, f"/comments/{comment.id}/moderate", {"action": "hide"}).status_code == 403
    )
    assert site.get(Article, article.id).hidden is False
    editor = site.client("ed")
    bad = site.post(editor, f"/articles/{article.id}/moderate", {"action": "explode"})
    assert bad.status_code == 422
    assert "Unknown action" in bad.text
    assert site.post(editor, "/articles/999/moderate", {"action": "hide"}).status_code == 404


def test_editors_use_the_admin_filters_and_bulk_actions(site: Site) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    first = site.article(ann, "First story")
    second = site.article(ann, "Second story")
    editor = site.client("ed")
    listing = editor.get("/admin/article/")
    assert listing.status_code == 200
    done = editor.post(
        "/admin/article/",
        data={
            "action": "feature",
            "_selected": [str(first.id), str(second.id)],
            "csrf_token": csrf_from(listing.text),
        },
    )
    assert done.status_code == 303
    assert "Feature: 2 row(s) changed." in editor.get("/admin/article/").text
    filtered = editor.get("/admin/article/?featured__exact=1").text
    assert "First story" in filtered
    assert "Second story" in filtered
    assert site.get(Article, first.id).featured is True
    listing = editor.get("/admin/article/")
    editor.post(
        "/admin/article/",
        data={
            "action": "hide",
            "_selected": [str(first.id)],
            "csrf_token": csrf_from(listing.text),
        },
    )
    assert site.client().get(f"/articles/{first.id}").status_code == 404


def test_comment_counts_are_what_readers_see_however_comments_are_hidden_or_deleted(
    site: Site,
) -> None:
    ann = site.user("ann")
    site.user("ed", EDITOR)
    article = site.article(ann)
    first, second, third = (site.comment(article, ann, f"Comment {n}") for n in range(3))
    assert site.get(Article, article.id).comment_count == 3
    editor, author = site.client("ed"), site.client("ann")
    site.post(editor, f"/comments/{first.id}/moderate", {"action": "hide"})
    assert site.get(Article, article.id).comment_count == 2
    site.post(author, f"/comments/{first.id}/delete")  # hidden, then deleted: counted once
    assert site.get(Article, article.id).comment_count == 2
    site.post(editor, f"/comments/{first.id}/moderate", {"action": "unhide"})
    assert site.get(Article, article.id).comment_count == 2  # still deleted
    listing = editor.get("/admin/comment/")
    done = editor.post(
        "/admin/comment/",
        data={
            "action": "hide",
            "_selected": [str(second.id), str(third.id)],
            "csrf_token": csrf_from(listing.text),
        },
    )
    assert done.status_code == 303
    assert site.get(Article, article.id).comment_count == 0
    assert "0 comments" in site.client().get("/new").text


def test_a_hidden_article_stays_hidden_behind_its_comments(site: Site) -> None:
    """Every route that reaches an article through a comment applies the article page's
    rule: hidden is a 404 to readers, its author included, and changes nothing."""
    ann = site.user("ann")
    site.user("bob")
    site.user("ed", EDITOR)
    article = site.article(ann, "Quietly withdrawn")
    mine = site.comment(article, site.user("cat"), "First thoughts")
    editor = site.client("ed")
    site.post(editor, f"/articles/{article.id}/moderate", {"action": "hide"})
    author = site.client("cat")
    page = author.get(f"/comments/{mine.id}/edit")
    assert page.status_code == 404
    assert "Quietly withdrawn" not in page.text
    assert site.post(author, f"/comments/{mine.id}/edit", {"body": "Sneaky"}).status_code == 404
    assert site.post(author, f"/comments/{mine.id}/delete").status_code == 404
    assert site.post(site.client("bob"), f"/comments/{mine.id}/vote").status_code == 404
    unchanged = site.get(Comment, mine.id)
    assert (unchanged.body, unchanged.deleted, unchanged.points) == ("First thoughts", False, 0)
    # Editors see hidden articles, so the same routes work for them.
    assert editor.get(f"/comments/{mine.id}/edit").status_code == 403  # not the author
    site.post(editor, f"/articles/{article.id}/moderate", {"action": "unhide"})
    assert author.get(f"/comments/{mine.id}/edit").status_code == 200
