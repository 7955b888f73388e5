"""The front page's ranking, /new, "top this week" and the pages of 30."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from news import ranking
from news.models import ArticleVote
from newssite import Site, csrf_from

from kettle.auth import User
from kettle.cache import Cache
from kettle.db import fields

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


def test_the_score_is_points_over_age_plus_two_to_the_gravity() -> None:
    assert ranking.score(10, NOW - dt.timedelta(hours=3), NOW) == pytest.approx(10 / 5**1.8)
    assert ranking.score(0, NOW, NOW) == 0
    assert ranking.score(4, NOW + dt.timedelta(minutes=5), NOW) == pytest.approx(4 / 2**1.8)
    # A day-old article needs about 19x the votes of a 3-hour-old one to stay level.
    day_old = ranking.score(194, NOW - dt.timedelta(hours=24), NOW)
    fresh = ranking.score(10, NOW - dt.timedelta(hours=3), NOW)
    assert 0.8 < day_old / fresh < 1.2


def test_rank_orders_by_score_then_newest() -> None:
    rows = [
        (1, 100, NOW - dt.timedelta(hours=48)),  # 100 / 50^1.8 = 0.088
        (2, 5, NOW - dt.timedelta(hours=1)),  # 5 / 3^1.8 = 0.69
        (3, 20, NOW - dt.timedelta(hours=5)),  # 20 / 7^1.8 = 0.60
        (4, 0, NOW - dt.timedelta(hours=2)),
        (5, 0, NOW - dt.timedelta(hours=1)),  # a tie at 0: the newer first
    ]
    assert ranking.rank(rows, NOW) == [2, 3, 1, 5, 4]


def titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="story-title">\s*<a [^>]*>([^<]+)</a>', html)


def test_the_front_page_follows_the_ranking_and_new_the_clock(site: Site) -> None:
    ann = site.user("ann")
    site.article(ann, "Old hit", age_hours=48, points=100)
    site.article(ann, "Fresh", age_hours=1, points=5)
    site.article(ann, "Rising", age_hours=5, points=20)
    client = site.client()
    assert titles(client.get("/").text) == ["Fresh", "Rising", "Old hit"]
    site.article(ann, "Brand new", age_hours=0, points=0)
    assert titles(client.get("/new").text) == ["Brand new", "Fresh", "Rising", "Old hit"]
    api = client.get("/api/front?sort=rank", headers={"accept": "application/json"}).json()
    assert [a["title"] for a in api["articles"]] == ["Fresh", "Rising", "Old hit", "Brand new"]


def test_lists_have_pages_of_30_and_a_404_past_the_end(site: Site) -> None:
    ann = site.user("ann")
    with site.db.session():
        from news.models import Article

        Article.objects.bulk_create(
            Article(
                title=f"Story {n:02}",
                url=f"https://example.com/{n}",
                domain="example.com",
                author_id=ann.id,
                points=n,
                created=fields.now() - dt.timedelta(minutes=n),
            )
            for n in range(65)
        )
    client = site.client()
    for path in ("/", "/new"):
        first, third = client.get(path).text, client.get(f"{path}?page=3").text
        assert len(titles(first)) == 30
        assert len(titles(third)) == 5
        assert 'rel="next" href="?page=2"' in first
        assert '<span class="rank">61.</span>' in third
        assert client.get(f"{path}?page=4").status_code == 404
        assert client.get(f"{path}?page=0").status_code == 404
    assert titles(client.get("/new").text)[0] == "Story 00"
    assert client.get("/?page=two").status_code == 422  # not a number: the form is wrong


def test_top_this_week_counts_votes_of_the_last_seven_days(site: Site) -> None:
    ann = site.user("ann")
    with site.db.session():
        voters = [User(username=f"v{n}", password="!") for n in range(12)]
        User.objects.bulk_create(voters)
        voters = list(User.objects.filter(username__startswith="v"))
    ten = site.article(ann, "Ten votes", age_hours=24)
    twelve = site.article(ann, "Twelve votes", age_hours=30)
    nine = site.article(ann, "Nine votes", age_hours=2, points=50)  # the counter is no vote
    old = site.article(ann, "Last month", age_hours=24 * 8)
    with site.db.session():
        for article, count in ((ten, 10), (twelve, 12), (nine, 9), (old, 12)):
            ArticleVote.objects.bulk_create(
                ArticleVote(article_id=article.id, user_id=v.id) for v in voters[:count]
            )
    page = site.client().get("/top").text
    assert titles(page) == ["Twelve votes", "Ten votes"]
    assert "at least 10 votes" in page
    api = site.client().get("/api/front?sort=top", headers={"accept": "application/json"})
    assert [a["title"] for a in api.json()["articles"]] == ["Twelve votes", "Ten votes"]


def test_rankings_keep_ids_in_the_cache_until_forgotten() -> None:
    cache = Cache(url="memory://", prefix="test:rankings")
    rankings = ranking.Rankings(seconds=15, cache=cache)
    computed: list[int] = []

    def compute() -> list[int]:
        computed.append(1)
        return [len(computed)]

    assert rankings.get("front", compute) == [1]
    assert rankings.get("front", compute) == [1]  # kept (kettle.cache expires it after 15 s)
    assert cache.get("front") == [1]
    rankings.forget()
    assert rankings.get("front", compute) == [2]
    assert ranking.Rankings(seconds=0, cache=cache).get("top", compute) == [3]  # 0: never kept
    assert cache.get("top") is None


def test_a_kept_ranking_leaves_out_what_an_editor_hid_meanwhile(tmp_path) -> None:
    from newssite import make_site

    site = make_site(f"sqlite:///{tmp_path / 'news.sqlite3'}", news_rank_cache_seconds=60)
    try:
        ann = site.user("ann")
        site.user("ed", role="editor")
        first = site.article(ann, "First", age_hours=1, points=5)
        site.article(ann, "Second", age_hours=2, points=1)
        reader = site.client()
        assert titles(reader.get("/").text) == ["First", "Second"]
        site.article(ann, "Third", age_hours=0, points=50)
        assert titles(reader.get("/").text) == ["First", "Second"]  # the kept order
        with site.db.session():
            type(first).objects.filter(id=first.id).update(hidden=True)  # as the admin does
        assert titles(reader.get("/").text) == ["Second"]
        editor = site.client("ed")
        page = editor.get(f"/articles/{first.id}")
        form = {"action": "unhide", "csrf_token": csrf_from(page.text)}
        assert editor.post(f"/articles/{first.id}/moderate", data=form).status_code in (302, 303)
        assert titles(reader.get("/").text) == ["Third", "First", "Second"]  # computed anew
    finally:
        site.close()
