"""``values()``/``values_list()`` run as Core rows on the unit of work's connection, and
plain QuerySets reuse one statement per shape: same answers as the ORM's execution."""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from newsmodels import Article, Status, Tag, User, Vote

from kettle.db import Count, Database, Q, QuerySet, _statements, sync_session


@pytest.fixture
def news(db: Database) -> Database:
    with db.session():
        ann, bob = User.objects.create(username="ann"), User.objects.create(username="bob")
        python = Tag.objects.create(name="python")
        rows = (
            ("Alpha", ann, 3, Status.PUBLISHED, Decimal("1.50"), "https://a.example"),
            ("Beta", bob, 7, Status.DRAFT, None, None),
            ("Gamma", ann, 7, Status.PUBLISHED, Decimal("9.99"), None),
        )
        for title, author, score, status, rating, url in rows:
            article = Article.objects.create(
                title=title,
                author=author,
                score=score,
                status=status,
                rating=rating,
                url=url,
                created=dt.datetime(2026, 1, score, 12, 30, tzinfo=dt.UTC),
                tags=[python],
            )
            Vote.objects.create(article=article, user=bob)
            Vote.objects.create(article=article, user=ann)
    return db


#: QuerySets whose values()/values_list() rows must match the ORM's execution exactly.
QUERIES: list[Callable[[], QuerySet[Any]]] = [
    lambda: Article.objects.values(),  # every column: enum, decimal, datetime, NULLs
    lambda: Article.objects.order_by("title").values("title", "author", "author__username"),
    lambda: Article.objects.order_by("-score", "title").values_list("title", "score"),
    lambda: Article.objects.order_by("title").values_list("title", flat=True),
    lambda: Article.objects.filter(author__username="ann").order_by("id").values("id", "status"),
    lambda: Article.objects.filter(Q(score=7) | Q(url__isnull=False)).values_list("id", flat=True),
    lambda: Article.objects.annotate(n=Count("votes")).order_by("title").values("title", "n"),
    lambda: Article.objects.annotate(n=Count("votes")).order_by("id").values(),
    lambda: Article.objects.order_by("author__username", "title").values("title")[1:3],
    lambda: Article.objects.values_list("score", flat=True).order_by("score").distinct(),
    lambda: Vote.objects.order_by("id").values("article__author__username", "user__username"),
    lambda: Tag.objects.values("name").order_by("name"),
    lambda: Tag.objects.values("name", "name"),  # the second is labelled name_1
]


def orm_rows(qs: QuerySet[Any]) -> list[Any]:
    """What values() answered before: the statement through ``Session.execute``."""
    rows = sync_session().execute(qs.statement).all()
    if qs._shape == "flat":
        return [row[0] for row in rows]
    if qs._shape == "tuples":
        return [tuple(row) for row in rows]
    return [dict(row._mapping) for row in rows]


@pytest.mark.parametrize("query", QUERIES)
def test_values_rows_match_the_orm(news: Database, query: Callable[[], QuerySet[Any]]) -> None:
    with news.session():
        expected = orm_rows(query())
        assert expected  # the case finds rows
        got = list(query())
        assert got == expected
        assert [type(v) for row in got for v in _values(row)] == [
            type(v) for row in expected for v in _values(row)
        ]
        if isinstance(expected[0], dict):
            assert [list(row) for row in got] == [list(row) for row in expected]  # key order

    async def main() -> list[Any]:
        try:
            async with news.async_session():
                return await query().alist()
        finally:
            await news.async_engine.dispose()

    assert asyncio.run(main()) == got


def _values(row: Any) -> list[Any]:
    if isinstance(row, dict):
        return list(row.values())
    return list(row) if isinstance(row, tuple) else [row]


def test_values_sees_unflushed_changes_as_the_orm_does(news: Database) -> None:
    with news.session() as session:
        alpha = Article.objects.get(title="Alpha")
        alpha.score = 99  # not saved: autoflush writes it before the query
        assert Article.objects.filter(score=99).values_list("title", flat=True)[0] == "Alpha"
        Tag.objects.create(name="new")
        assert list(Tag.objects.order_by("name").values_list("name", flat=True)) == [
            "new",
            "python",
        ]
        with session.no_autoflush:
            alpha.score = 5
            assert list(Article.objects.filter(score=5).values_list("id", flat=True)) == []


def test_values_builds_no_objects_and_runs_one_statement(news: Database) -> None:
    async def main() -> tuple[list[str], int, int]:
        seen: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        engine = news.async_engine.sync_engine
        try:
            async with news.async_session() as session:
                await User.objects.acount()  # the transaction is open: BEGIN is behind us
                before = len(session.identity_map)
                sa.event.listen(engine, "before_cursor_execute", record)
                try:
                    rows = await Article.objects.values("title", "author__username").alist()
                finally:
                    sa.event.remove(engine, "before_cursor_execute", record)
                return seen, len(rows), len(session.identity_map) - before
        finally:
            await news.async_engine.dispose()

    seen, found, new_objects = asyncio.run(main())
    assert found == 3
    assert len(seen) == 1
    assert seen[0].lstrip().upper().startswith("SELECT")
    assert new_objects == 0


def test_values_runs_in_the_unit_of_work_transaction(news: Database) -> None:
    async def main() -> list[str]:
        try:
            async with news.async_session():
                await Tag.objects.acreate(name="uncommitted")
                return await Tag.objects.order_by("name").values_list("name", flat=True).alist()
        finally:
            await news.async_engine.dispose()

    assert asyncio.run(main()) == ["python", "uncommitted"]


def test_unfiltered_statements_are_made_once_per_shape() -> None:
    plain = _statements.select_to_run(Tag.objects.values("name"))
    assert _statements.select_to_run(Tag.objects.values("name")) is plain
    assert _statements.select_to_run(Tag.objects.all()) is _statements.select_to_run(Tag.objects)
    assert _statements.select_to_run(Tag.objects.order_by("-name")) is not plain
    assert _statements.select_to_run(Tag.objects.values_list("name", flat=True)) is plain


@pytest.mark.parametrize(
    "query",
    [
        lambda: Tag.objects.filter(name="x"),
        lambda: Tag.objects.all()[:5],
        lambda: Article.objects.annotate(n=Count("votes")),
        lambda: Article.objects.select_related("author"),
    ],
)
def test_anything_else_builds_its_statement(query: Callable[[], QuerySet[Any]]) -> None:
    assert _statements.select_to_run(query()) is not _statements.select_to_run(query())


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_statements, "_PLAIN_SELECTS", weakref.WeakKeyDictionary())
    monkeypatch.setattr(_statements, "_PLAIN_SELECTS_PER_MODEL", 2)
    shapes = [User.objects.order_by(*names) for names in (("id",), ("-id",), ("username",))]
    for qs in shapes:
        _statements.select_to_run(qs)
    assert len(_statements._PLAIN_SELECTS[User]) == 2
    last = shapes[-1]
    assert str(_statements.select_to_run(last)) == str(last.statement)  # still right
