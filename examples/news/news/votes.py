"""Votes: one per user and article (or comment), toggled, with the ``points`` counters.

The ``ArticleVote``/``CommentVote`` rows are the truth, guarded by a unique constraint;
``points`` follows them with ``UPDATE ... SET points = points ± 1`` only when a row was
really added or removed, so two clicks at once (two tabs, a double tap) never count
twice: the second insert fails on the constraint inside a savepoint, the second delete
deletes nothing.

The pages post a form and are sent back; ``site.js`` posts with
``Accept: application/json`` and gets ``{"points": n, "voted": bool}`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy.exc import IntegrityError

from kettle import Form, Group, HTTPException, Request, Response
from kettle.auth import login_required
from kettle.db import F, Model, atomic
from news import live
from news.models import Article, ArticleVote, Comment, CommentVote
from news.web import back, member_required, signed_in, vote_limit, wants_json


@dataclass(frozen=True)
class Votes:
    """The vote model of a votable model, and the name of its link to it."""

    target: type[Model]
    vote: type[Model]
    link: str  # "article_id"


ARTICLE = Votes(Article, ArticleVote, "article_id")
COMMENT = Votes(Comment, CommentVote, "comment_id")


# --- the writes (def code) --------------------------------------------------------------------
def add(kind: Votes, target_id: int, user_id: int) -> bool:
    """Vote; False when the user had voted already (nothing changes)."""
    try:
        with atomic():
            kind.vote.objects.create(**{kind.link: target_id, "user_id": user_id})
    except IntegrityError:
        return False
    kind.target.objects.filter(id=target_id).update(points=F("points") + 1)
    return True


def remove(kind: Votes, target_id: int, user_id: int) -> bool:
    """Take the vote back; False when there was none."""
    deleted = kind.vote.objects.filter(**{kind.link: target_id, "user_id": user_id}).delete()
    if deleted:
        kind.target.objects.filter(id=target_id).update(points=F("points") - deleted)
    return bool(deleted)


def toggle(kind: Votes, target_id: int, user_id: int) -> bool:
    """Vote, or take the vote back if there is one; returns whether the user now votes."""
    if remove(kind, target_id, user_id):
        return False
    add(kind, target_id, user_id)
    return True


def points(kind: Votes, target_id: int) -> int:
    """The target's counter as the database has it now."""
    value: int = kind.target.objects.filter(id=target_id).values_list("points", flat=True).get()
    return value


# --- the same for async code (the API) ---------------------------------------------------------
async def aadd(kind: Votes, target_id: int, user_id: int) -> bool:
    """``add`` for async code."""
    try:
        async with atomic():
            await kind.vote.objects.acreate(**{kind.link: target_id, "user_id": user_id})
    except IntegrityError:
        return False
    await kind.target.objects.filter(id=target_id).aupdate(points=F("points") + 1)
    return True


async def aremove(kind: Votes, target_id: int, user_id: int) -> bool:
    """``remove`` for async code."""
    query = kind.vote.objects.filter(**{kind.link: target_id, "user_id": user_id})
    deleted = await query.adelete()
    if deleted:
        await kind.target.objects.filter(id=target_id).aupdate(points=F("points") - deleted)
    return bool(deleted)


async def apoints(kind: Votes, target_id: int) -> int:
    """``points`` for async code."""
    query = kind.target.objects.filter(id=target_id).values_list("points", flat=True)
    value: int = await query.aget()
    return value


# --- what may be voted on ------------------------------------------------------------------------
async def acast(request: Request, kind: Votes, target_id: int, *, up: bool, what: str) -> Any:
    """The API's vote (``up``) or unvote of ``what`` ("this article") by the signed-in
    user: the new count (announced to open pages), or a 409 when there was a vote
    already, or none to take back."""
    user_id = signed_in(request).id
    if up and not await aadd(kind, target_id, user_id):
        raise HTTPException(409, f"You already voted for {what}; DELETE the vote to undo it.")
    if not up and not await aremove(kind, target_id, user_id):
        raise HTTPException(409, f"You have not voted for {what}; POST to vote.")
    await live.avoted(request, kind.target, target_id)
    return {"points": await apoints(kind, target_id), "voted": up}


def refusal(article: Article, comment: Comment | None = None) -> str:
    """Why a vote (or comment) is refused here, or "" when it is allowed."""
    if article.locked:
        return "This article is locked by the editors: it takes no more votes or comments."
    if comment is not None and (comment.deleted or comment.hidden):
        return "This comment was removed, so it cannot be voted on or answered."
    return ""


def _answer(
    request: Request, kind: Votes, target_id: int, voted: bool, next_url: str, default: str
) -> Any:
    if wants_json(request):
        return {"points": points(kind, target_id), "voted": voted}
    return back(request, next_url, default)


def _refused(request: Request, message: str, next_url: str, default: str) -> Response:
    if wants_json(request):
        raise HTTPException(403, message)
    return back(request, next_url, default, message, "error")


group = Group("votes", templates=None, static=None)


@group.post("/articles/<int:id>/vote")
@login_required
@member_required
@vote_limit
def vote_article(request: Request, id: int, next: Annotated[str, Form()] = "") -> Any:
    """Toggle the user's vote on an article (a form post, or JSON for ``site.js``)."""
    article = Article.objects.filter(hidden=False).get(id=id)
    default = request.url_for("pages.article", id=id)
    message = refusal(article)
    if message:
        return _refused(request, message, next, default)
    voted = toggle(ARTICLE, id, signed_in(request).id)
    live.voted(request, Article, id)
    return _answer(request, ARTICLE, id, voted, next, default)


@group.post("/comments/<int:id>/vote")
@login_required
@member_required
@vote_limit
def vote_comment(request: Request, id: int, next: Annotated[str, Form()] = "") -> Any:
    """Toggle the user's vote on a comment."""
    comment = Comment.objects.select_related("article").get(id=id)
    default = request.url_for("pages.article", id=comment.article_id) + f"#c{id}"
    if comment.article.hidden:
        raise HTTPException(404, f"No comment with id {id}.")
    message = refusal(comment.article, comment)
    if message:
        return _refused(request, message, next, default)
    voted = toggle(COMMENT, id, signed_in(request).id)
    live.voted(request, Comment, id)
    return _answer(request, COMMENT, id, voted, next, default)


__all__ = [
    "ARTICLE",
    "COMMENT",
    "Votes",
    "aadd",
    "acast",
    "add",
    "apoints",
    "aremove",
    "group",
    "points",
    "refusal",
    "remove",
    "toggle",
]
