"""The JSON API's comments, comment votes and user profiles (routes on ``news.api.group``).

Comments are a ``kettle.resources`` resource: ``GET /api/comments?article_id=7`` lists
them flat (oldest first), ``GET /api/comments/<id>`` shows one, ``POST /api/comments``
with ``{"article_id", "body"}`` (and ``parent_id`` for a reply) adds one.
``GET /api/articles/<id>/comments`` is the article's thread as a tree.
"""

from __future__ import annotations

from typing import Any

from kettle import HTTPException, Request
from kettle.auth import User, login_required
from kettle.db import F, Page, Paginator, QuerySet
from kettle.exceptions import ValidationError
from kettle.resources import Resource
from news import live, votes
from news.api import article_json, group, visible_article
from news.comments import body_problem
from news.models import Article, Comment
from news.tasks import aafter_comment
from news.threads import as_json, build_tree
from news.web import (
    ais_moderator,
    comment_limit,
    member_required,
    settings_of,
    signed_in,
    vote_limit,
)


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


class CommentResource(Resource):
    """Comments: read by anyone (removed ones and those of hidden articles by editors
    only), written by members with the page's checks."""

    model = Comment
    fields = ("id", "article_id", "parent_id", "author", "body", "created", "edited", "points")
    read_only_fields = ("edited", "points")
    nested = {"author": ("id", "username")}
    filters = {"article_id": ("exact",), "author__username": ("exact",)}
    ordering = ("created", "points")
    default_ordering = ("created",)
    page_size = 50
    actions = ("list", "retrieve", "create")
    model_permissions = False
    decorators = {"create": (login_required, member_required, comment_limit)}

    async def get_queryset(self, request: Request) -> QuerySet[Comment]:
        comments = Comment.objects.all()
        if await ais_moderator(request):
            return comments
        return comments.filter(hidden=False, deleted=False, article__hidden=False)

    async def perform_create(self, request: Request, obj: Comment) -> None:
        """On a visible, unlocked article; a reply under a comment of the same one."""
        article = await visible_article(request, obj.article_id)
        problem = votes.refusal(article)
        if problem:
            raise HTTPException(403, problem)
        problem = body_problem(obj.body)
        if problem:
            raise _invalid("body", problem)
        parent = None
        if obj.parent_id is not None:
            parent = await Comment.objects.filter(id=obj.parent_id).afirst()
            if parent is None or parent.article_id != article.id:
                raise _invalid("parent_id", f"no comment {obj.parent_id} on article {article.id}.")
            problem = votes.refusal(article, parent)
            if problem:
                raise HTTPException(403, problem)
        obj.author_id = signed_in(request).id
        obj.body = obj.body.strip()
        await obj.asave()
        await Article.objects.filter(id=article.id).aupdate(comment_count=F("comment_count") + 1)
        await aafter_comment(request, obj, article, parent)  # the reply note, as on the page
        await live.acommented(request, article, obj.id)  # to the pages open on the article


group.resource("/comments", CommentResource)


def _invalid(field: str, problem: str) -> ValidationError:
    """The 422 of a typed handler, for a check the body's types cannot express."""
    return ValidationError(
        [{"loc": ["body", field], "msg": f"{field}: {problem}", "type": "invalid"}]
    )


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
    return await votes.acast(request, votes.COMMENT, id, up=True, what="this comment")


@group.delete("/comments/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def unvote_comment(request: Request, id: int) -> Any:
    """Take one's vote for a comment back; 409 if there was none."""
    await _votable_comment(request, id)
    return await votes.acast(request, votes.COMMENT, id, up=False, what="this comment")


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
    "CommentResource",
    "comment_tree",
    "list_comments",
    "show_user",
    "unvote_comment",
    "vote_comment",
]
