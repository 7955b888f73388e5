"""The JSON API's votes on articles as a resource (routes on ``news.api.group``).

``GET /api/votes`` lists the caller's votes (``?article_id=7`` asks about one article),
``POST /api/votes`` with ``{"article_id": 7}`` votes (201; 409 when the vote is there
already), ``DELETE /api/votes/<id>`` takes one back. Each keeps the article's ``points``
in step, as the site's buttons and ``POST /api/articles/<id>/vote`` do.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from kettle import HTTPException, Request
from kettle.auth import get_user, login_required
from kettle.db import F, QuerySet, atomic
from kettle.resources import Resource
from news import live, votes
from news.api import group, visible_article
from news.models import Article, ArticleVote
from news.web import member_required, signed_in, vote_limit


class VoteResource(Resource):
    """One's own article votes: nobody sees or removes another's."""

    model = ArticleVote
    fields = ("id", "article_id", "created")
    filters = {"article_id": ("exact", "in")}
    ordering = ("created",)
    default_ordering = ("-created",)
    page_size = 50
    actions = ("list", "retrieve", "create", "delete")
    model_permissions = False
    decorators = {"read": (login_required,), "write": (login_required, member_required, vote_limit)}

    async def get_queryset(self, request: Request) -> QuerySet[ArticleVote]:
        return ArticleVote.objects.filter(user_id=get_user(request).id)

    async def perform_create(self, request: Request, obj: ArticleVote) -> None:
        """A vote on a visible, unlocked article, once; the article's points go up."""
        article = await visible_article(request, obj.article_id)
        problem = votes.refusal(article)
        if problem:
            raise HTTPException(403, problem)
        obj.user_id = signed_in(request).id
        try:
            async with atomic():
                await obj.asave()
        except IntegrityError:
            raise HTTPException(
                409, "You already voted for this article; DELETE its vote to undo it."
            ) from None
        await Article.objects.filter(id=article.id).aupdate(points=F("points") + 1)
        await live.avoted(request, Article, article.id)

    async def perform_delete(self, request: Request, obj: ArticleVote) -> None:
        """Take the vote back; the article's points go down."""
        await obj.adelete()
        await Article.objects.filter(id=obj.article_id).aupdate(points=F("points") - 1)
        await live.avoted(request, Article, obj.article_id)


group.resource("/votes", VoteResource, name="vote")

__all__ = ["VoteResource"]
