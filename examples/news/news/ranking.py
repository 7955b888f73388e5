"""How the front page orders articles, and the other lists (/new, /top).

The front page ranks by votes and age, as Hacker News does::

    score = points / (age_hours + 2) ** 1.8

``points`` is the article's vote count (the ``Article.points`` counter), ``age_hours``
its age in hours. The 2 keeps a brand-new article from dividing by almost nothing; the
exponent, the *gravity*, makes age win over votes as time passes: after a day an article
needs about 19 times the votes of a 3-hour-old one to stay level with it. Equal scores go
to the newer article.

# PERF: scores change with the clock, so they cannot live in an index. The ranking reads
# the id, points and date of the ``news_rank_window`` newest visible articles (1,000 by
# default; an index scan on ``(featured, hidden, created)``) and scores them in Python.
# Older articles have decayed off the front page anyway; they stay on /new. Scoring
# 1,000 rows costs ~10 ms, so the ranked ids are kept in kettle.cache for
# ``news_rank_cache_seconds`` (``Rankings``: in each worker's memory, or in Redis for all
# of them with ``KETTLE_CACHE_URL=redis://...``, one worker ranking while the others
# wait) and a page then costs one query: its 30 articles by id. /top keeps its ids the
# same way: counting a week of votes per article is the slowest query of the site. Votes
# show at once (the counts come with the page's articles); only the order lags by up to
# those seconds, as on the sites this one copies.
#
# With ``news_tasks=worker`` no web worker ranks: the periodic task
# ``news.tasks.recompute_rankings`` does, every 15 seconds, and stores the ids in
# ``news_ranking`` (``SharedRankings``), so a page costs two small queries in every
# worker and the order is the same whichever worker answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from kettle.cache import Cache
from kettle.db import Count, Page, QuerySet, atomic, fields
from kettle.exceptions import HTTPException
from news.models import Article, Ranking

GRAVITY = 1.8
#: A week, for "top this week".
WEEK = dt.timedelta(days=7)


def score(points: int, created: dt.datetime, now: dt.datetime) -> float:
    """The front-page score of an article with ``points`` votes posted at ``created``::

    score(10, now - timedelta(hours=3), now)   # 10 / 5 ** 1.8 = 0.55
    """
    age_hours = max(0.0, (now - created).total_seconds() / 3600)
    return points / (age_hours + 2) ** GRAVITY


def rank(rows: Iterable[tuple[int, int, dt.datetime]], now: dt.datetime) -> list[int]:
    """The ids of ``(id, points, created)`` rows, best score first (newest on ties)."""
    scored = [(score(points, created, now), created, id) for id, points, created in rows]
    scored.sort(reverse=True)
    return [id for _, _, id in scored]


def candidates(window: int) -> QuerySet[Any]:
    """``(id, points, created)`` of the ``window`` newest listed (visible, not featured)
    articles: what the front page ranks."""
    return (
        Article.objects.filter(hidden=False, featured=False)
        .order_by("-created")
        .values_list("id", "points", "created")[:window]
    )


def featured() -> QuerySet[Article]:
    """The featured articles pinned above the ranking, newest first."""
    return Article.objects.filter(hidden=False, featured=True).select_related("author")


def newest() -> QuerySet[Article]:
    """Every visible article, newest first (/new)."""
    return Article.objects.filter(hidden=False).select_related("author").order_by("-created")


def top_this_week(min_votes: int) -> QuerySet[Article]:
    """Articles of the last 7 days with at least ``min_votes`` votes, most voted first.

    The votes are counted from the ``ArticleVote`` rows (``annotations["votes"]``).
    """
    week_ago = fields.now() - WEEK
    return (
        Article.objects.filter(hidden=False, created__gte=week_ago)
        .annotate(votes=Count("votes"))
        .filter(votes__gte=min_votes)
        .order_by("-votes", "-created")
    )


class Rankings:
    """The front page's and /top's ranked ids, kept ``seconds`` in ``cache`` (kettle.cache).

    ``get(key, compute)`` returns the ids stored under ``key``, or lets one caller
    compute them (``Cache.get_or_set``: one computation at a time across the workers
    that share the cache); ``seconds=0`` computes on every call. Without ``cache``, the
    ids stay in this process (``memory://``)::

        rankings = Rankings(seconds=15, cache=Cache(url="redis://127.0.0.1:6379/0"))
        ids = rankings.get("front", lambda: rank(candidates(1000), fields.now()))
    """

    def __init__(self, seconds: float, cache: Cache | None = None) -> None:
        self.seconds = seconds
        #: Where the ids are kept; ``forget`` clears every key of its prefix, so give it
        #: a prefix of its own (``news.app`` does: ``<cache prefix>:rankings``).
        self.cache = cache if cache is not None else Cache(url="memory://", prefix="news:rankings")

    def get(self, key: str, compute: Callable[[], list[int]]) -> list[int]:
        """The ids under ``key``, computed again when older than ``seconds``."""
        if self.seconds <= 0:
            return compute()
        return self.cache.get_or_set(key, compute, self.seconds)

    async def aget(self, key: str, compute: Callable[[], Awaitable[list[int]]]) -> list[int]:
        """``get`` for async code."""
        if self.seconds <= 0:
            return await compute()
        ids: list[int] = await self.cache.aget_or_set(key, compute, self.seconds)
        return ids

    def forget(self) -> None:
        """Drop every kept ranking, in every worker sharing the cache: the next page
        computes it (after moderation, say)."""
        self.cache.clear()


class SharedRankings(Rankings):
    """The rankings that ``recompute_rankings`` stored, the same for every web worker.

    Until the task first ran, a page ranks for itself (and keeps it for ``seconds``, as
    ``Rankings`` does); ``forget`` asks the task to run now (after moderation)::

        rankings = SharedRankings(seconds=15, recompute=lambda: ...)
        ids = rankings.get("front", compute)    # the stored ids, else compute()
    """

    def __init__(
        self, seconds: float, recompute: Callable[[], object], cache: Cache | None = None
    ) -> None:
        super().__init__(seconds, cache)
        self.recompute = recompute

    def get(self, key: str, compute: Callable[[], list[int]]) -> list[int]:
        stored = Ranking.objects.filter(key=key).values_list("ids", flat=True).first()
        return json.loads(stored) if stored is not None else super().get(key, compute)

    async def aget(self, key: str, compute: Callable[[], Awaitable[list[int]]]) -> list[int]:
        stored = await Ranking.objects.filter(key=key).values_list("ids", flat=True).afirst()
        return json.loads(stored) if stored is not None else await super().aget(key, compute)

    def forget(self) -> None:
        super().forget()
        self.recompute()


def store(key: str, ids: list[int]) -> None:
    """Save the ranked ``ids`` under ``key`` for ``SharedRankings`` (``def`` code)."""
    values = {"ids": json.dumps(ids), "computed": fields.now()}
    if Ranking.objects.filter(key=key).update(**values):
        return
    try:
        with atomic():  # a savepoint: the unit goes on if another run inserted it first
            Ranking.objects.create(key=key, **values)
    except IntegrityError:
        Ranking.objects.filter(key=key).update(**values)


def store_all(window: int, min_votes: int) -> None:
    """Rank the front page and /top now and store both (the periodic task's work)."""
    store("front", rank(candidates(window), fields.now()))
    store(f"top:{min_votes}", list(top_this_week(min_votes).values_list("id", flat=True)))


def page_of(ids: list[int], number: int, per_page: int) -> tuple[list[int], Page[int]]:
    """The ids of page ``number`` of a ranking and the page's place (404 out of range)."""
    pages = max(1, -(-len(ids) // per_page))
    if number < 1 or number > pages:
        raise HTTPException(404, f"There is no page {number}; pages run from 1 to {pages}.")
    start = (number - 1) * per_page
    chosen = ids[start : start + per_page]
    return chosen, Page(items=chosen, number=number, per_page=per_page, total=len(ids))


def in_order(articles: Iterable[Article], ids: list[int]) -> list[Article]:
    """``articles`` sorted as ``ids`` lists them."""
    by_id = {article.id: article for article in articles}
    return [by_id[id] for id in ids if id in by_id]


def _load(chosen: list[int]) -> QuerySet[Article]:
    # NOTE: kept ids may be seconds old: one hidden meanwhile is left out.
    return Article.objects.filter(id__in=chosen, hidden=False).select_related("author")


def ranked_page(number: int, per_page: int, window: int, rankings: Rankings) -> Page[Article]:
    """Page ``number`` of the front page's ranking (``def`` code)."""
    ids = rankings.get("front", lambda: rank(candidates(window), fields.now()))
    chosen, place = page_of(ids, number, per_page)
    return Page(in_order(_load(chosen), chosen), place.number, per_page, place.total)


async def aranked_page(
    number: int, per_page: int, window: int, rankings: Rankings
) -> Page[Article]:
    """``ranked_page`` for async code."""

    async def compute() -> list[int]:
        return rank(await candidates(window).alist(), fields.now())

    ids = await rankings.aget("front", compute)
    chosen, place = page_of(ids, number, per_page)
    return Page(in_order(await _load(chosen).alist(), chosen), place.number, per_page, place.total)


def top_page(number: int, per_page: int, min_votes: int, rankings: Rankings) -> Page[Article]:
    """Page ``number`` of "top this week" (``def`` code)."""
    top = top_this_week(min_votes).values_list("id", flat=True)
    ids = rankings.get(f"top:{min_votes}", lambda: list(top))
    chosen, place = page_of(ids, number, per_page)
    return Page(in_order(_load(chosen), chosen), place.number, per_page, place.total)


async def atop_page(
    number: int, per_page: int, min_votes: int, rankings: Rankings
) -> Page[Article]:
    """``top_page`` for async code."""
    top = top_this_week(min_votes).values_list("id", flat=True)
    ids = await rankings.aget(f"top:{min_votes}", top.alist)
    chosen, place = page_of(ids, number, per_page)
    return Page(in_order(await _load(chosen).alist(), chosen), place.number, per_page, place.total)


__all__ = [
    "GRAVITY",
    "Rankings",
    "SharedRankings",
    "aranked_page",
    "atop_page",
    "candidates",
    "featured",
    "newest",
    "rank",
    "ranked_page",
    "score",
    "store",
    "store_all",
    "top_page",
    "top_this_week",
]
