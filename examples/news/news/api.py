"""The JSON API under ``/api``: articles and votes (comments in ``news.api_comments``,
tokens in ``news.api_tokens``).

Clients sign in with a token: ``POST /api/tokens`` with ``{"username", "password"}``
answers ``{"token": "kt_..."}`` (shown once; throttled like the login page), then every
request sends ``Authorization: Bearer kt_...``; ``GET /api/tokens`` lists the caller's
tokens and ``DELETE /api/tokens`` revokes the one in use. Errors are JSON with a ``detail`` that
says what to do: 401 without a valid token, 403 without the right, 404, 409 for a vote
that is already there (or not), 422 for bad input, 429 over a rate limit.

The handlers are ``async def``: they query with ``aget``/``alist`` and load relations
up front with ``select_related``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kettle import Group, HTTPException, Request
from kettle.auth import get_user, login_required
from kettle.db import Paginator
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
SORTS = ("rank", "new", "top")


class NewArticle(msgspec.Struct):
    title: str
    url: str = ""
    body: str = ""


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
@group.get("/articles")
async def list_articles(request: Request, sort: str = "rank", page: int = 1) -> Any:
    """A page of articles: ``sort=rank`` (the front page), ``new`` or ``top`` (this week)."""
    if sort not in SORTS:
        raise HTTPException(422, f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}.")
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


@group.get("/articles/<int:id>")
async def show_article(request: Request, id: int) -> Any:
    """One article with its comment tree."""
    from news.api_comments import comment_tree

    article = await visible_article(request, id)
    data = article_json(article, full=True)
    data["comments"] = await comment_tree(request, article)
    return data


@group.post("/articles")
@login_required
@member_required
@article_limit
async def create_article(request: Request, submission: NewArticle) -> Any:
    """Submit a link or a text; a link already submitted this week is a 409."""
    errors, values = check(submission.title, submission.url, submission.body)
    if errors:
        raise HTTPException(
            422,
            "Invalid article: "
            + " ".join(f"{field}: {messages[0]}" for field, messages in errors.items()),
        )
    existing = await arecent_duplicate(values["url"])
    if existing is not None:
        raise HTTPException(
            409,
            f"That link was submitted in the last 7 days as article "
            f"{existing.id} ({request.url_for('api.show_article', id=existing.id)}).",
        )
    article = new_article(values, signed_in(request).id)
    await article.asave()
    article = await Article.objects.select_related("author").aget(id=article.id)
    return article_json(article, full=True), 201


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
    user_id = signed_in(request).id
    return await votes.acast(votes.ARTICLE, id, user_id, up=True, what="this article")


@group.delete("/articles/<int:id>/vote")
@login_required
@member_required
@vote_limit
async def unvote_article(request: Request, id: int) -> Any:
    """Take one's vote back; 409 if there was none."""
    await _votable(request, id)
    user_id = signed_in(request).id
    return await votes.acast(votes.ARTICLE, id, user_id, up=False, what="this article")


__all__ = [
    "article_json",
    "create_article",
    "group",
    "list_articles",
    "show_article",
    "unvote_article",
    "visible_article",
    "vote_article",
]
