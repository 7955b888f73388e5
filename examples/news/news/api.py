"""The JSON API under ``/api``: articles and the front page (comments in
``news.api_comments``, votes as a resource in ``news.api_votes``, tokens in
``news.api_tokens``).

Articles are a ``kettle.resources`` resource: ``GET /api/articles`` lists them (filters
such as ``?author__username=ann``, ``?ordering=-points``, ``?search=``, pages of 30),
``GET /api/articles/<id>`` shows one (with an ``ETag``), ``POST /api/articles`` submits
one. ``GET /api/front?sort=rank`` is the ranked front page (``new`` and ``top``, this
week's most voted, too), with whether the caller voted for each.

Clients sign in with a token: ``POST /api/tokens`` with ``{"username", "password"}``
answers ``{"token": "kt_..."}`` (shown once; throttled like the login page), then every
request sends ``Authorization: Bearer kt_...``; ``GET /api/tokens`` lists the caller's
tokens and ``DELETE /api/tokens`` revokes the one in use. Errors are JSON with a ``detail`` that
says what to do: 400 for an unknown filter, 401 without a valid token, 403 without the
right, 404, 409 for a vote that is already there (or not), 422 for bad input, 429 over
a rate limit. ``/openapi.json`` describes it all, ``/api/docs`` shows it.

The handlers are ``async def``: they query with ``aget``/``alist`` and load relations
up front with ``select_related``.
"""

from __future__ import annotations

from typing import Any, Literal

from kettle import App, Group, HTTPException, Request
from kettle.auth import get_user, login_required
from kettle.db import Paginator, QuerySet
from kettle.exceptions import ValidationError
from kettle.openapi import OpenAPI
from kettle.resources import Resource
from news import ranking, votes
from news.models import Article, ArticleVote
from news.submissions import arecent_duplicate, check, new_article
from news.web import (
    ais_moderator,
    article_limit,
    member_required,
    rankings_of,
    settings_of,
    signed_in,
    vote_limit,
)

group = Group("api", prefix="/api", templates=None, static=None)


def article_json(
    article: Article, *, voted: bool | None = None, full: bool = False
) -> dict[str, Any]:
    """An article as the API sends it (``full`` adds the text)."""
    data: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "domain": article.domain,
        "author": article.author.username,
        "created": article.created.isoformat(),
        "points": article.points,
        "comment_count": article.comment_count,
        "featured": article.featured,
        "locked": article.locked,
    }
    if full:
        data["body"] = article.body
        data["hidden"] = article.hidden
    if voted is not None:
        data["voted"] = voted
    return data


async def visible_article(request: Request, id: int) -> Article:
    """The article (author loaded); a hidden one is a 404 to all but editors."""
    article = await Article.objects.select_related("author").filter(id=id).afirst()
    if article is None or (article.hidden and not await ais_moderator(request)):
        raise HTTPException(404, f"No article with id {id}.")
    return article


async def voted_ids(request: Request, ids: list[int]) -> set[int]:
    """Which of the articles ``ids`` the user voted for."""
    user = get_user(request)
    if not user.is_authenticated or not ids:
        return set()
    query = ArticleVote.objects.filter(user_id=user.id, article_id__in=ids)
    return set(await query.values_list("article_id", flat=True).alist())


# --- articles -----------------------------------------------------------------------------------
class ArticleResource(Resource):
    """Articles: listed and shown to anyone (hidden ones to editors only), submitted by
    members; the author is whoever submits."""

    model = Article
    fields = (
        "id",
        "title",
        "url",
        "domain",
        "body",
        "author",
        "created",
        "points",
        "comment_count",
        "featured",
        "locked",
        "hidden",
    )
    read_only_fields = ("domain", "points", "comment_count", "featured", "locked", "hidden")
    nested = {"author": ("id", "username")}
    filters = {
        "author__username": ("exact",),
        "domain": ("exact",),
        "points": ("gte", "lte"),
        "featured": ("exact",),
    }
    ordering = ("created", "points", "comment_count")
    default_ordering = ("-created",)
    search_fields = ("title",)
    page_size = 30
    actions = ("list", "retrieve", "create")
    # Members submit (a role, not a model permission); the rate limit is the page's too.
    model_permissions = False
    decorators = {"create": (login_required, member_required, article_limit)}

    async def get_queryset(self, request: Request) -> QuerySet[Article]:
        articles = Article.objects.all()
        return articles if await ais_moderator(request) else articles.filter(hidden=False)

    async def perform_create(self, request: Request, obj: Article) -> None:
        """The page's checks: a link or a text, not both; a link at most once a week."""
        errors, values = check(obj.title, obj.url or "", obj.body)
        if errors:
            raise ValidationError(
                [
                    {"loc": ["body", field], "msg": f"{field}: {messages[0]}", "type": "invalid"}
                    for field, messages in errors.items()
                ]
            )
        existing = await arecent_duplicate(values["url"])
        if existing is not None:
            raise HTTPException(
                409,
                f"That link was submitted in the last 7 days as article "
                f"{existing.id} ({request.url_for('api.article.retrieve', id=existing.id)}).",
            )
        checked = new_article(values, signed_in(request).id)
        for name in ("title", "url", "domain", "body", "author_id"):
            setattr(obj, name, getattr(checked, name))
        await obj.asave()


group.resource("/articles", ArticleResource)


@group.get("/front")
async def front_page(
    request: Request, sort: Literal["rank", "new", "top"] = "rank", page: int = 1
) -> Any:
    """A page of the front page: ``sort=rank`` (as the site's), ``new`` or ``top`` (this
    week), with ``voted`` for a signed-in caller."""
    settings = settings_of(request)
    per_page = settings.news_per_page
    if sort == "rank":
        rankings = rankings_of(request)
        found = await ranking.aranked_page(page, per_page, settings.news_rank_window, rankings)
    elif sort == "top":
        min_votes = settings.news_top_min_votes
        found = await ranking.atop_page(page, per_page, min_votes, rankings_of(request))
    else:
        found = await Paginator(ranking.newest(), per_page).apage(page)
    mine = await voted_ids(request, [a.id for a in found.items])
    user = get_user(request)
    return {
        "sort": sort,
        "page": found.number,
        "pages": found.num_pages,
        "total": found.total,
        "articles": [
            article_json(a, voted=(a.id in mine) if user.is_authenticated else None)
            for a in found.items
        ],
    }


def publish(app: App) -> OpenAPI:
    """Describe the API at ``/openapi.json``, with its docs page at ``/api/docs``."""
    return OpenAPI(
        app,
        title="Kettle News API",
        version="1.0.0",
        description="Articles, comments, votes and tokens of Kettle News.",
        docs_url="/api/docs",
        serve=True,
    )


async def _votable(request: Request, id: int) -> Article:
    article = await visible_article(request, id)
    message = votes.refusal(article)
    if message:
        raise HTTPException(403, message)
    return article


@group.post("/articles/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def vote_article(request: Request, id: int) -> Any:
    """Vote for an article; 409 if the user had already."""
    await _votable(request, id)
    return await votes.acast(request, votes.ARTICLE, id, up=True, what="this article")


@group.delete("/articles/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def unvote_article(request: Request, id: int) -> Any:
    """Take one's vote back; 409 if there was none."""
    await _votable(request, id)
    return await votes.acast(request, votes.ARTICLE, id, up=False, what="this article")


__all__ = [
    "ArticleResource",
    "article_json",
    "front_page",
    "group",
    "publish",
    "unvote_article",
    "visible_article",
    "vote_article",
]
