"""Moderation by editors: hide, feature and lock articles, hide comments.

``POST /articles/<id>/moderate`` and ``POST /comments/<id>/moderate`` take the field
``action``; the admin offers the same as bulk actions (``news.admin``). Readers get 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from kettle import Form, Group, HTTPException, Request
from kettle.auth import login_required
from news.comments import recount
from news.models import Article, Comment
from news.web import back, lists_changed, moderator_required

#: action -> (field, value, what the flash message says)
ARTICLE_ACTIONS: dict[str, tuple[str, bool, str]] = {
    "hide": ("hidden", True, "hidden: only editors see it now"),
    "unhide": ("hidden", False, "visible to everyone again"),
    "feature": ("featured", True, "featured: pinned on the front page"),
    "unfeature": ("featured", False, "no longer featured"),
    "lock": ("locked", True, "locked: no more votes or comments"),
    "unlock": ("locked", False, "unlocked: open to votes and comments"),
}
COMMENT_ACTIONS: dict[str, tuple[str, bool, str]] = {
    "hide": ("hidden", True, "hidden from readers"),
    "unhide": ("hidden", False, "visible again"),
}

group = Group("moderation", templates=None, static=None)


def _chosen(actions: dict[str, tuple[str, bool, str]], action: str) -> tuple[str, bool, str]:
    if action not in actions:
        raise HTTPException(422, f"Unknown action {action!r}: use one of {', '.join(actions)}.")
    return actions[action]


@group.post("/articles/<int:id>/moderate")
@login_required
@moderator_required
def moderate_article(
    request: Request,
    id: int,
    action: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Any:
    """Hide/unhide, feature/unfeature or lock/unlock an article."""
    field, value, said = _chosen(ARTICLE_ACTIONS, action)
    if not Article.objects.filter(id=id).update(**{field: value}):
        raise HTTPException(404, f"No article with id {id}.")
    lists_changed(request)  # featured and hidden change what the lists show
    here = request.url_for("pages.article", id=id)
    return back(request, next, here, f"The article is {said}.", "success")


@group.post("/comments/<int:id>/moderate")
@login_required
@moderator_required
def moderate_comment(
    request: Request,
    id: int,
    action: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Any:
    """Hide or unhide a comment."""
    field, value, said = _chosen(COMMENT_ACTIONS, action)
    comment = Comment.objects.filter(id=id).first()
    if comment is None:
        raise HTTPException(404, f"No comment with id {id}.")
    Comment.objects.filter(id=id).update(**{field: value})
    recount([comment.article_id])
    here = request.url_for("pages.article", id=comment.article_id) + f"#c{id}"
    return back(request, next, here, f"The comment is {said}.", "success")


__all__ = ["ARTICLE_ACTIONS", "COMMENT_ACTIONS", "group", "moderate_article", "moderate_comment"]
