"""``count()``, ``get()`` with ``select_related()`` and ``get()`` of ``values()`` rows on
the compiled fast path (kettle.db._fastpath), on every engine, sync and async: the same
answers as SQLAlchemy's path, the session's autoflush and identity map kept, each read
one counted statement.
Also the memos that make building those reads cheap (``order_by()`` names, loader
options) refuse what they refused before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from dbhelpers import arun
from newsmodels import Article, Comment, Status, User
from test_fastpath_reads import START, both_paths, fast_runs, news

from kettle.db import Database, DoesNotExist, FieldError, Q, QuerySet
from kettle.testing import assert_num_queries

__all__ = ["fast_runs", "news"]  # fixtures used here, defined with the reads' tests

#: Counts the fast path compiles; each is compared with SQLAlchemy's path.
COUNTED: list[Callable[[], QuerySet[Any]]] = [
    lambda: Article.objects.all(),
    lambda: Article.objects.filter(score__gte=3),
    lambda: Article.objects.filter(score=7, status=Status.PUBLISHED),
    lambda: Article.objects.exclude(rating__isnull=True),
    lambda: Article.objects.filter(Q(score=1) | Q(title__icontains="ALP")),
    lambda: Article.objects.filter(author__username="ann").order_by("-id"),
    lambda: Article.objects.filter(tags__name="web"),
    lambda: Article.objects.filter(id__in=[1, 2, 3]),
    lambda: Article.objects.filter(id__in=[]),
    lambda: Article.objects.filter(score=12345),
    lambda: Article.objects.select_related("author").filter(score=7),
    lambda: Comment.objects.filter(author__isnull=True),
]
#: Counts that take SQLAlchemy's path (a subquery): answers stay the same.
NOT_COUNTED: list[Callable[[], QuerySet[Any]]] = [
    lambda: Article.objects.order_by("id")[1:3],
    lambda: Article.objects.values_list("score", flat=True).distinct(),
    lambda: Article.objects.values("author"),
    lambda: Article.objects.select_for_update(),
]


@pytest.mark.parametrize("query", COUNTED + NOT_COUNTED)
def test_count_answers_as_sqlalchemy(
    news: Database, query: Callable[[], QuerySet[Any]], fast_runs: list[str]
) -> None:
    fast, slow = both_paths(news, lambda: query().count())
    assert fast == slow
    assert type(fast) is int
    assert len(fast_runs) == (query in COUNTED)


@pytest.mark.parametrize("query", COUNTED + NOT_COUNTED)
def test_acount_answers_as_sqlalchemy(
    news: Database, query: Callable[[], QuerySet[Any]], fast_runs: list[str]
) -> None:
    async def run(on: bool) -> Any:
        news.fast_path = on
        async with news.async_session():
            return await query().acount()

    fast = arun(news, lambda: run(True))
    slow = arun(news, lambda: run(False))
    news.fast_path = True
    assert fast == slow
    assert type(fast) is int
    assert len(fast_runs) == (query in COUNTED)


def test_count_values_and_shapes_differ(news: Database, fast_runs: list[str]) -> None:
    with news.session(), assert_num_queries(4):
        assert Article.objects.filter(score=7).count() == 2
        assert Article.objects.filter(score=3).count() == 1  # same shape, other value
        assert Article.objects.count() == 4
        assert list(Article.objects.filter(score=7)) != []  # the rows, not the count
    assert len(fast_runs) == 4
    assert "count" in fast_runs[0].lower()
    assert "count" not in fast_runs[3].lower()


def test_count_flushes_pending_changes_first(news: Database) -> None:
    with news.session():
        ann = User.objects.get(username="ann")
        Article.objects.create(title="Epsilon", author=ann, score=7)
        assert Article.objects.filter(score=7).count() == 3
        article = Article.objects.get(title="Alpha")
        article.score = 7  # a change in the session, flushed before the count
        assert Article.objects.filter(score=7).count() == 4
        assert Article.objects.filter(score=3).count() == 0


def test_get_with_select_related_answers_as_sqlalchemy(
    news: Database, fast_runs: list[str]
) -> None:
    def reads() -> Any:
        return (
            Article.objects.select_related("author").get(pk=2),
            Article.objects.select_related("author", "author__profile").get(title="Gamma"),
            Comment.objects.select_related("parent__author", "article").get(pk=2),
            Comment.objects.select_related("author").get(pk=2),  # author is NULL
        )

    fast, slow = both_paths(news, reads)
    assert fast == slow
    assert len(fast_runs) == 4
    assert all(" JOIN " in sql for sql in fast_runs)
    related = [dict(item[2]) for item in fast]
    assert dict(related[0]["author"][1])["username"] == "bob"
    assert related[3]["author"] is None


def test_get_with_select_related_is_one_statement_and_one_object(news: Database) -> None:
    with news.session(), assert_num_queries(3):  # the two gets and the user's
        article = Article.objects.select_related("author").get(pk=1)
        assert article.author.username == "ann"  # loaded: no query
        again = Article.objects.select_related("author").get(pk=1)
        assert again is article
        assert again.author is User.objects.get(username="ann")
    with news.session(), pytest.raises(DoesNotExist):
        Article.objects.select_related("author").get(pk=12345)


def test_aget_with_select_related_loads_the_relation(news: Database, fast_runs: list[str]) -> None:
    async def read() -> Any:
        async with news.async_session():
            article = await Article.objects.select_related("author").aget(pk=3)
            # async code cannot lazy-load: the relation must have come with the row
            return article.title, article.author.username

    assert arun(news, read) == ("Gamma", "ann")
    assert len(fast_runs) == 1


def test_get_of_values_rows_answers_as_sqlalchemy(news: Database, fast_runs: list[str]) -> None:
    def reads() -> Any:
        return (
            Article.objects.values_list("id", "title", "author__username").get(pk=2),
            Article.objects.values("title", "score").get(title="Gamma"),
            Article.objects.values_list("title", flat=True).get(pk="3"),  # coerced as filter()
            Comment.objects.values_list("id", "author__username").get(pk=2),  # author NULL
        )

    fast, slow = both_paths(news, reads)
    assert fast == slow
    assert fast[2] == "Gamma"
    assert fast[3][1] is None
    assert len(fast_runs) == 4


def test_get_of_values_rows_refuses_as_get_does(news: Database, fast_runs: list[str]) -> None:
    with news.session(), assert_num_queries(1), pytest.raises(DoesNotExist):
        Article.objects.values_list("id", "title").get(pk=12345)
    with news.session():
        # the same name twice takes SQLAlchemy's path (it labels the second column)
        assert Article.objects.values("id", "id").get(pk=1) == {"id": 1, "id_1": 1}
    assert len(fast_runs) == 1

    async def read() -> Any:
        async with news.async_session():
            return await Article.objects.values_list("title", "score").aget(pk=3)

    assert arun(news, read) == ("Gamma", score_of(news, 3))


def score_of(news: Database, pk: int) -> Any:
    with news.session():
        return Article.objects.get(pk=pk).score


def test_get_with_prefetch_related_keeps_sqlalchemy_path(
    news: Database, fast_runs: list[str]
) -> None:
    def tags() -> list[str]:
        article = Article.objects.prefetch_related("tags").get(pk=3)
        return sorted(tag.name for tag in article.tags)

    fast, slow = both_paths(news, tags)
    assert fast == slow == ["python", "web"]
    assert fast_runs == []


def test_memoised_order_by_and_loaders_still_refuse_bad_names(news: Database) -> None:
    with news.session():
        assert [a.id for a in Article.objects.order_by("-id")][:1] == [4]
        assert [a.id for a in Article.objects.order_by("-id")][:1] == [4]  # memoised
        with pytest.raises(FieldError):
            Article.objects.order_by("-id", "nope")
        with pytest.raises(TypeError, match="field names"):
            Article.objects.order_by(["id"])  # type: ignore[arg-type]
        Article.objects.select_related("author").get(pk=1)
        with pytest.raises(FieldError, match="no relation"):
            Article.objects.select_related("writer")
        with pytest.raises(FieldError, match="prefetch_related"):
            Article.objects.select_related("tags")
        with pytest.raises(FieldError, match="prefetch_related"):
            Article.objects.select_related("tags")  # refused again, not memoised


def test_timestamps_come_back_aware_utc(news: Database, fast_runs: list[str]) -> None:
    # On PostgreSQL a NOT NULL timestamptz of an object is converted by one C call
    # (_hydrate._TO_UTC); every engine gives the same aware UTC values.
    with news.session():
        one = Article.objects.get(pk=2)
        rows = list(Article.objects.order_by("id"))
        assert {a.created.tzinfo for a in rows} == {dt.UTC}
        assert one.created == START + dt.timedelta(days=1, microseconds=1)
        assert [a.created for a in rows] == [
            START + dt.timedelta(days=i, microseconds=i) for i in range(4)
        ]
        assert {a.updated.tzinfo for a in rows} == {dt.UTC}
    assert len(fast_runs) == 2
