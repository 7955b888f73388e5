"""The front page's order, as the Kettle site computes it (examples/news/news/ranking.py).

    score = points / (age_hours + 2) ** 1.8

Scores change with the clock, so they are computed in Python over the ``window`` newest
listed articles; equal scores go to the newer article.
"""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from .models import Article

GRAVITY = 1.8
WEEK = timedelta(days=7)


def score(points, created, now):
    age_hours = max(0.0, (now - created).total_seconds() / 3600)
    return points / (age_hours + 2) ** GRAVITY


def ranked_ids(window):
    """The ids of the ``window`` newest listed articles, best score first."""
    rows = (
        Article.objects.filter(hidden=False, featured=False)
        .order_by("-created")
        .values_list("id", "points", "created")[:window]
    )
    now = timezone.now()
    scored = sorted(
        ((score(points, created, now), created, id) for id, points, created in rows),
        reverse=True,
    )
    return [id for _, _, id in scored]


def top_this_week(min_votes):
    """The last 7 days' articles with at least ``min_votes`` votes, most voted first."""
    return (
        Article.objects.filter(hidden=False, created__gte=timezone.now() - WEEK)
        .annotate(week_votes=Count("votes"))
        .filter(week_votes__gte=min_votes)
        .order_by("-week_votes", "-created")
    )
