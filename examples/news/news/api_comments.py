"""The JSON API's comments, comment votes and user profiles (routes on ``news.api.group``)."""

from __future__ import annotations

from typing import Any

import msgspec

from kettle import HTTPException, Request
from kettle.auth import User, login_required
from kettle.db import F, Page, Paginator
from news import votes
from news.api import article_json, group, visible_article
from news.comments import body_problem
from news.models import Article, Comment
from news.threads import as_json, build_tree
from news.web import (
    ais_moderator,
    comment_limit,
    member_required,
    settings_of,
    signed_in,
    vote_limit,
)


class NewComment(msgspec.Struct):
    body: str
    parent: int | None = None


async def comment_tree(request: Request, article: Article) -> list[dict[str, object]]:
    """The article's comments as nested JSON (hidden ones for editors only)."""
    moderator = await ais_moderator(request)
    rows = await Comment.objects.filter(article_id=article.id).select_related("author").alist()
    return as_json(build_tree(rows, show_hidden=moderator), moderator=moderator)


@group.get("/articles/<int:id>/comments")
async def list_comments(request: Request, id: int) -> Any:
    """The article's comment tree."""
    article = await visible_article(request, id)
    return {"article": id, "comments": await comment_tree(request, article)}


@group.post("/articles/<int:id>/comments")
@login_required
@member_required
@comment_limit
async def add_comment(request: Request, id: int, comment: NewComment) -> Any:
    """Comment on an article, or reply to one of its comments (``parent``)."""
    article = await visible_article(request, id)
    problem = votes.refusal(article)
    if problem:
        raise HTTPException(403, problem)
    problem = body_problem(comment.body)
    if problem:
        raise HTTPException(422, f"Invalid comment: body: {problem}")
    if comment.parent is not None:
        parent = await Comment.objects.filter(id=comment.parent).afirst()
        if parent is None or parent.article_id != id:
            raise HTTPException(
                422, f"Invalid comment: parent: no comment {comment.parent} on article {id}."
            )
        problem = votes.refusal(article, parent)
        if problem:
            raise HTTPException(403, problem)
    saved = await Comment.objects.acreate(
        article_id=id,
        author_id=signed_in(request).id,
        body=comment.body.strip(),
        parent_id=comment.parent,
    )
    await Article.objects.filter(id=id).aupdate(comment_count=F("comment_count") + 1)
    return {
        "id": saved.id,
        "article": id,
        "parent": saved.parent_id,
        "author": signed_in(request).username,
        "body": saved.body,
        "created": saved.created.isoformat(),
        "points": 0,
    }, 201


async def _votable_comment(request: Request, id: int) -> Comment:
    comment = await Comment.objects.select_related("article").filter(id=id).afirst()
    if comment is None or (comment.article.hidden and not await ais_moderator(request)):
        raise HTTPException(404, f"No comment with id {id}.")
    problem = votes.refusal(comment.article, comment)
    if problem:
        raise HTTPException(403, problem)
    return comment


@group.post("/comments/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def vote_comment(request: Request, id: int) -> Any:
    """Vote for a comment; 409 if the user had already."""
    await _votable_comment(request, id)
    user_id = signed_in(request).id
    return await votes.acast(votes.COMMENT, id, user_id, up=True, what="this comment")


@group.delete("/comments/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def unvote_comment(request: Request, id: int) -> Any:
    """Take one's vote for a comment back; 409 if there was none."""
    await _votable_comment(request, id)
    user_id = signed_in(request).id
    return await votes.acast(votes.COMMENT, id, user_id, up=False, what="this comment")


async def _page_or_none(query: Any, per_page: int, page: int) -> Page[Any] | None:
    try:
        return await Paginator(query, per_page).apage(page)
    except HTTPException:
        return None


@group.get("/users/<username>")
async def show_user(request: Request, username: str, page: int = 1) -> Any:
    """A user's profile: their articles and comments, newest first (``page`` of each)."""
    person = await User.objects.filter(username=username).afirst()
    if person is None:
        raise HTTPException(404, f"No user named {username!r}.")
    per_page = settings_of(request).news_per_page
    articles = Article.objects.filter(author_id=person.id, hidden=False).select_related("author")
    said = Comment.objects.filter(
        author_id=person.id, deleted=False, hidden=False, article__hidden=False
    )
    submitted = await _page_or_none(articles.order_by("-created"), per_page, page)
    written = await _page_or_none(said.order_by("-created"), per_page, page)
    if submitted is None and written is None:
        raise HTTPException(404, f"There is no page {page} of {username}'s articles or comments.")
    return {
        "username": person.username,
        "joined": person.date_joined.isoformat(),
        "page": page,
        "articles": [article_json(a) for a in (submitted.items if submitted else [])],
        "comments": [
            {
                "id": c.id,
                "article": c.article_id,
                "body": c.body,
                "points": c.points,
                "created": c.created.isoformat(),
            }
            for c in (written.items if written else [])
        ],
    }


__all__ = [
    "add_comment",
    "comment_tree",
    "list_comments",
    "show_user",
    "unvote_comment",
    "vote_comment",
]
