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
# 1,000 rows costs ~10 ms, so each worker keeps the ranked ids for
# ``news_rank_cache_seconds`` (``Rankings``) and a page then costs one query: its 30
# articles by id. /top keeps its ids the same way: counting a week of votes per article
# is the slowest query of the site. Votes show at once (the counts come with the page's
# articles); only the order lags by up to those seconds, as on the sites this one copies.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kettle.db import Count, Page, QuerySet, fields
from kettle.exceptions import HTTPException
from news.models import Article

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
    """The front page's and /top's ranked ids, kept for ``seconds`` in this worker.

    ``get(key, compute)`` returns the ids ``compute()`` gave within the last ``seconds``,
    or computes them again; ``seconds=0`` computes every time::

        rankings = Rankings(seconds=15)
        ids = rankings.get("front", lambda: rank(candidates(1000), fields.now()))
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._kept: dict[str, tuple[float, list[int]]] = {}

    def _fresh(self, key: str) -> list[int] | None:
        kept = self._kept.get(key)
        return kept[1] if kept is not None and kept[0] > self.clock() else None

    def _keep(self, key: str, ids: list[int]) -> list[int]:
        if self.seconds > 0:
            self._kept[key] = (self.clock() + self.seconds, ids)
        return ids

    def get(self, key: str, compute: Callable[[], list[int]]) -> list[int]:
        """The ids under ``key``, computed again when older than ``seconds``."""
        fresh = self._fresh(key)
        return fresh if fresh is not None else self._keep(key, compute())

    async def aget(self, key: str, compute: Callable[[], Awaitable[list[int]]]) -> list[int]:
        """``get`` for async code."""
        fresh = self._fresh(key)
        return fresh if fresh is not None else self._keep(key, await compute())

    def forget(self) -> None:
        """Drop every kept ranking: the next page computes it (after moderation, say)."""
        self._kept.clear()


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
    "aranked_page",
    "atop_page",
    "candidates",
    "featured",
    "newest",
    "rank",
    "ranked_page",
    "score",
    "top_page",
    "top_this_week",
]
