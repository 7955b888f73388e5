"""The seed's query, end to end on each engine: the last week's articles with 10+ upvotes."""

from __future__ import annotations

import datetime as dt

from newsmodels import Article, User, Vote

from kettle.db import Count, Database


def test_last_week_with_at_least_ten_upvotes(db: Database) -> None:
    with db.session():
        ann = User.objects.create(username="ann")
        voters = User.objects.bulk_create([User(username=f"v{i}") for i in range(12)])
        hot = Article.objects.create(title="Hot", author=ann)
        warm = Article.objects.create(title="Warm", author=ann)
        old = Article.objects.create(title="Old", author=ann)
        Vote.objects.bulk_create([Vote(article=hot, user=v) for v in voters])
        Vote.objects.bulk_create([Vote(article=warm, user=v) for v in voters[:9]])
        Vote.objects.bulk_create([Vote(article=old, user=v) for v in voters])
        Article.objects.filter(id=old.id).update(
            created=dt.datetime.now(dt.UTC) - dt.timedelta(days=9)
        )

    week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    with db.session():
        top = (
            Article.objects.filter(created__gte=week_ago)
            .annotate(votes=Count("votes"))
            .filter(votes__gte=10)
            .order_by("-votes")
        )
        assert [(a.title, a.annotations["votes"]) for a in top] == [("Hot", 12)]
