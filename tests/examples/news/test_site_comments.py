"""Comments: threads, replies, the edit window, soft deletes and the comment count."""

from __future__ import annotations

import datetime as dt
import re

from news.models import Article, Comment
from newssite import Site

from kettle.db import fields


def test_comments_and_replies_nest_and_are_counted(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    bob = site.client("bob")
    response = site.post(bob, f"/articles/{article.id}/comments", {"body": "Top <b>level</b>"})
    assert response.status_code == 303
    with site.db.session():
        top = Comment.objects.get(article_id=article.id)
    assert response.headers["location"] == f"/articles/{article.id}#c{top.id}"
    reply = site.post(
        bob, f"/articles/{article.id}/comments", {"body": "A reply", "parent": str(top.id)}
    )
    assert reply.status_code == 303
    page = bob.get(f"/articles/{article.id}").text
    assert "Top &lt;b&gt;level&lt;/b&gt;" in page  # escaped
    # The reply sits in a nested list inside the top comment's item.
    nested = re.search(rf'id="c{top.id}".*?<ul class="thread">.*?A reply', page, re.S)
    assert nested is not None
    assert site.get(Article, article.id).comment_count == 2


def test_bad_comments_show_the_page_again_with_the_problem(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    other = site.article(ann, "Other")
    foreign = site.comment(other, ann)
    bob = site.client("bob")
    empty = site.post(bob, f"/articles/{article.id}/comments", {"body": "   "})
    assert empty.status_code == 422
    assert "Write something before posting." in empty.text
    wrong = site.post(
        bob, f"/articles/{article.id}/comments", {"body": "Hi", "parent": str(foreign.id)}
    )
    assert wrong.status_code == 422
    assert "not on this article" in wrong.text
    junk = site.post(bob, f"/articles/{article.id}/comments", {"body": "Hi", "parent": "x"})
    assert junk.status_code == 422
    assert site.post(bob, "/articles/999/comments", {"body": "Hi"}).status_code == 404
    assert site.get(Article, article.id).comment_count == 0


def test_the_author_may_edit_within_the_window_and_not_after(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    comment = site.comment(article, ann, "Frist")
    old = site.comment(article, ann, "Old one", created=fields.now() - dt.timedelta(minutes=16))
    client = site.client("ann")
    assert "Frist" in client.get(f"/comments/{comment.id}/edit").text
    response = site.post(client, f"/comments/{comment.id}/edit", {"body": "First"})
    assert response.status_code == 303
    edited = site.get(Comment, comment.id)
    assert (edited.body, edited.edited is not None) == ("First", True)
    late = site.post(client, f"/comments/{old.id}/edit", {"body": "Changed"})
    assert late.status_code == 403
    assert "can be edited for 15 minutes after posting" in late.text
    assert site.get(Comment, old.id).body == "Old one"
    assert (
        site.post(
            site.client("bob"), f"/comments/{comment.id}/edit", {"body": "Mine now"}
        ).status_code
        == 403
    )
    assert site.post(client, f"/comments/{comment.id}/edit", {"body": ""}).status_code == 422


def test_deleting_keeps_the_replies_and_the_count_right(site: Site) -> None:
    ann = site.user("ann")
    site.user("bob")
    article = site.article(ann)
    parent = site.comment(article, ann, "Parent text")
    site.comment(article, ann, "Reply text", parent=parent)
    lonely = site.comment(article, ann, "Lonely text")
    client = site.client("ann")
    assert site.post(client, f"/comments/{parent.id}/delete").status_code == 303
    assert site.post(client, f"/comments/{lonely.id}/delete").status_code == 303
    assert site.post(client, f"/comments/{lonely.id}/delete").status_code == 403  # again
    assert site.post(site.client("bob"), f"/comments/{parent.id}/delete").status_code == 403
    page = site.client().get(f"/articles/{article.id}").text
    assert "[deleted]" in page
    assert "Parent text" not in page
    assert "Reply text" in page
    assert "Lonely text" not in page
    assert f'id="c{lonely.id}"' not in page
    assert site.get(Article, article.id).comment_count == 1
    with site.db.session():
        assert Comment.objects.filter(deleted=True).count() == 2


def test_a_locked_article_takes_no_comments(site: Site) -> None:
    ann = site.user("ann")
    article = site.article(ann, locked=True)
    client = site.client("ann")
    assert "takes no more votes or comments" in client.get(f"/articles/{article.id}").text
    response = site.post(client, f"/articles/{article.id}/comments", {"body": "Hi"})
    assert response.status_code == 303
    assert "locked by the editors" in client.get(response.headers["location"]).text
    with site.db.session():
        assert not Comment.objects.exists()
