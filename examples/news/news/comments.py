"""Writing comments: a new comment or reply, editing it for a while, deleting it.

Authors may edit a comment during ``news_edit_window`` seconds (15 minutes) after posting
it; after that the edit page answers 403 and says why. Deleting is soft: the comment shows
as "[deleted]" and its replies stay. ``Article.comment_count`` counts the comments
readers see (neither deleted nor hidden by an editor): a new comment adds one, and
whatever hides or deletes comments counts its articles again (``recount``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any

from kettle import Form, Group, HTTPException, RedirectResponse, Request, flash, render
from kettle.auth import login_required
from kettle.db import F, fields
from news import live
from news.models import Article, Comment
from news.pages import article_context, hidden_from, visible_article
from news.tasks import after_comment
from news.votes import refusal
from news.web import back, comment_limit, member_required, settings_of, signed_in

MAX_COMMENT = 10_000
#: Ids are 64-bit: no row has a larger one.
MAX_ID = 2**63 - 1
_COMMENT_ID = re.compile(r"[0-9]{1,19}")
group = Group("comments", templates=None, static=None)


def body_problem(body: str) -> str:
    """Why ``body`` is no comment, or ""."""
    if not body.strip():
        return "Write something before posting."
    if len(body) > MAX_COMMENT:
        return f"Keep comments to {MAX_COMMENT:,} characters."
    return ""


def parent_problem(article: Article, parent: Comment | None) -> str:
    """Why a reply to ``parent`` cannot go under ``article``, or ""."""
    if parent is None or parent.article_id != article.id:
        return "The comment you answer is not on this article. Reload the page and try again."
    return refusal(article, parent)


def parse_parent(text: str) -> int | None:
    """The parent id from the form: "" for a top-level comment; anything but a comment id
    (ASCII digits, at most the largest id a row can have) is a 422::

        parse_parent("42")   # 42
        parse_parent("²")    # HTTPException(422): str.isdigit() is true of it, int() is not
    """
    text = text.strip()
    if not text:
        return None
    if _COMMENT_ID.fullmatch(text) is None or int(text) > MAX_ID:
        raise HTTPException(422, "The parent field must be the id of a comment (ASCII digits 0-9).")
    return int(text)


def add(article: Article, author_id: int, body: str, parent_id: int | None) -> Comment:
    """Save a comment and count it (``def`` code; checks done by the caller)."""
    comment = Comment.objects.create(
        article_id=article.id, author_id=author_id, body=body.strip(), parent_id=parent_id
    )
    Article.objects.filter(id=article.id).update(comment_count=F("comment_count") + 1)
    return comment


def recount(article_ids: Iterable[int]) -> None:
    """Set ``comment_count`` of these articles to the comments readers see (``def`` code).

    Deleting and hiding can meet on one comment, from the site and from the admin, so the
    count is read again rather than moved by one.
    """
    for article_id in set(article_ids):
        shown = Comment.objects.filter(article_id=article_id, deleted=False, hidden=False)
        Article.objects.filter(id=article_id).update(comment_count=shown.count())


@group.post("/articles/<int:id>/comments")
@login_required
@member_required
@comment_limit
def post_comment(
    request: Request,
    id: int,
    body: Annotated[str, Form()] = "",
    parent: Annotated[str, Form()] = "",
) -> Any:
    """Add a comment (or, with ``parent``, a reply) and go to it."""
    article = visible_article(request, id)
    parent_id = parse_parent(parent)
    here = request.url_for("pages.article", id=id)
    locked = refusal(article)
    if locked:
        return back(request, here, here, locked, "error")
    problem = body_problem(body)
    parent_comment = None
    if not problem and parent_id is not None:
        parent_comment = Comment.objects.filter(id=parent_id).first()
        problem = parent_problem(article, parent_comment)
    if problem:
        values = {"body": body, "parent": str(parent_id or "")}
        context = article_context(request, article, errors={"body": [problem]}, values=values)
        return render("article.html", status=422, **context)
    comment = add(article, signed_in(request).id, body, parent_id)
    after_comment(request, comment, article, parent_comment)  # the reply note
    live.commented(request, article, comment.id)  # to the pages open on the article
    return RedirectResponse(f"{here}#c{comment.id}", 303)


def own_comment(request: Request, id: int, action: str) -> Comment:
    """The signed-in user's comment ``id``; 404 if missing or on an article hidden from
    them (as the article page), 403 if it is someone else's."""
    comment = Comment.objects.select_related("article").filter(id=id).first()
    if comment is None or hidden_from(request, comment.article):
        raise HTTPException(404, f"No comment with id {id}.")
    if comment.author_id != signed_in(request).id:
        raise HTTPException(403, f"Only the author of a comment may {action} it.")
    if comment.deleted:
        raise HTTPException(403, f"This comment was deleted; there is nothing left to {action}.")
    return comment


def editable_until(comment: Comment, window: int) -> dt.datetime:
    """When the author's edit window for ``comment`` closes."""
    return comment.created + dt.timedelta(seconds=window)


@group.route("/comments/<int:id>/edit", ["GET", "POST"])
@login_required
def edit_comment(request: Request, id: int, body: Annotated[str, Form()] = "") -> Any:
    """Change one's comment while the edit window is open."""
    comment = own_comment(request, id, "edit")
    window = settings_of(request).news_edit_window
    if fields.now() > editable_until(comment, window):
        raise HTTPException(
            403,
            f"Comments can be edited for {window // 60} minutes after posting; this one "
            "can no longer be changed. Delete it, or post a new comment instead.",
        )
    if request.method == "GET":
        return render(
            "edit_comment.html", comment=comment, values={"body": comment.body}, errors={}
        )
    problem = body_problem(body)
    if problem:
        return render(
            "edit_comment.html",
            comment=comment,
            values={"body": body},
            errors={"body": [problem]},
            status=422,
        )
    comment.body = body.strip()
    comment.edited = fields.now()
    comment.save()
    flash(request, "Your comment was updated.", "success")
    return RedirectResponse(
        request.url_for("pages.article", id=comment.article_id) + f"#c{id}", 303
    )


@group.post("/comments/<int:id>/delete")
@login_required
def delete_comment(request: Request, id: int) -> Any:
    """Delete one's comment (softly: its replies stay, it shows as "[deleted]")."""
    comment = own_comment(request, id, "delete")
    if Comment.objects.filter(id=id, deleted=False).update(deleted=True):
        recount([comment.article_id])
    flash(request, "Your comment was deleted.", "success")
    return RedirectResponse(
        request.url_for("pages.article", id=comment.article_id) + f"#c{id}", 303
    )


__all__ = [
    "add",
    "body_problem",
    "delete_comment",
    "edit_comment",
    "group",
    "parent_problem",
    "parse_parent",
    "post_comment",
    "recount",
]
