"""The async twins (``aget``, ``acount``, ``async for`` ...) behave as the sync methods do."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from newsmodels import Article, Collection, CollectionEntry, Profile, Tag, User, Vote

from kettle.db import (
    Count,
    Database,
    DoesNotExist,
    F,
    ModelValidationError,
    MultipleObjectsReturned,
    ProtectedError,
    Q,
    QuerySet,
    Sum,
)

T = TypeVar("T")


def run(db: Database, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a unit of work of its own on a fresh event loop."""

    async def main() -> T:
        try:
            async with db.async_session():
                return await work()
        finally:
            await db.async_engine.dispose()

    return asyncio.run(main())


@contextlib.contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the async engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
            seen.append(statement)

    engine = db.async_engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def news(db: Database) -> Database:
    with db.session():
        ann, bob = User.objects.create(username="ann"), User.objects.create(username="bob")
        Profile.objects.create(user=ann, bio="kettles")
        python = Tag.objects.create(name="python")
        for title, author, score in (("Alpha", ann, 3), ("Beta", bob, 7), ("Gamma", ann, 7)):
            article = Article.objects.create(title=title, author=author, score=score, tags=[python])
            Vote.objects.create(article=article, user=bob)
    return db


def test_reading(news: Database) -> None:
    async def work() -> None:
        qs = Article.objects.order_by("title")
        assert [a.title for a in await qs.alist()] == ["Alpha", "Beta", "Gamma"]
        assert [a.title async for a in qs.filter(author__username="ann")] == ["Alpha", "Gamma"]
        assert [a.title for a in await qs[1:].alist()] == ["Beta", "Gamma"]
        assert (await qs.aget(title="Beta")).score == 7
        with pytest.raises(DoesNotExist) as caught:
            await qs.aget(title="Omega")
        assert caught.value.status == 404
        with pytest.raises(MultipleObjectsReturned):
            await qs.aget(score=7)
        assert (await qs.afirst()).title == "Alpha"  # type: ignore[union-attr]
        assert (await qs.alast()).title == "Gamma"  # type: ignore[union-attr]
        assert await qs.filter(score=99).afirst() is None
        assert await qs.filter(score=7).aexists()
        assert not await qs.filter(Q(score=7) & Q(score=3)).aexists()
        assert not await Collection.objects.aexists()
        assert await Tag.objects.aexists()
        assert await qs.acount() == 3
        assert await qs.aaggregate(total=Sum("score"), votes=Count("votes")) == {
            "total": 17,
            "votes": 3,
        }
        assert await qs.values_list("title", flat=True).alist() == ["Alpha", "Beta", "Gamma"]
        ranked = qs.annotate(votes=Count("votes")).filter(votes__gte=1).order_by("-score", "title")
        assert [(a.title, a.annotations["votes"]) for a in await ranked.alist()] == [
            ("Beta", 1),
            ("Gamma", 1),
            ("Alpha", 1),
        ]

    run(news, work)


def test_eager_loading_avoids_lazy_loads(news: Database) -> None:
    async def work() -> None:
        with statements(news) as seen:
            articles = await Article.objects.select_related("author__profile").alist()
            bios = sorted(str(a.author.profile.bio if a.author.profile else None) for a in articles)
        assert len(seen) == 1
        assert bios == ["None", "kettles", "kettles"]
        with statements(news) as seen:
            articles = await Article.objects.prefetch_related("tags", "votes__user").alist()
            voters = {a.title: [v.user.username for v in a.votes] for a in articles}
            tags = {a.title: [t.name for t in a.tags] for a in articles}
        assert len(seen) == 4
        assert voters == {"Alpha": ["bob"], "Beta": ["bob"], "Gamma": ["bob"]}
        assert set(map(tuple, tags.values())) == {("python",)}

    run(news, work)


def test_creating(news: Database) -> None:
    async def work() -> None:
        ann = await User.objects.aget(username="ann")
        made = await Article.objects.acreate(title="Delta", author=ann, score=1)
        assert made.id is not None
        assert made.created.tzinfo is not None
        with pytest.raises(ModelValidationError, match="title"):
            await Article.objects.acreate(title="", author=ann)
        tags = await Tag.objects.abulk_create([Tag(name=n) for n in ("a", "b", "c")])
        assert all(t.id for t in tags)
        for tag in tags:
            tag.name = tag.name.upper()
        with statements(news) as seen:
            assert await Tag.objects.abulk_update(tags, ["name"], batch_size=2) == 3
        assert len(seen) == 2
        names = await Tag.objects.order_by("name").values_list("name", flat=True).alist()
        assert names == ["A", "B", "C", "python"]

    run(news, work)


def test_update_and_delete(news: Database) -> None:
    async def work() -> None:
        ann = await User.objects.aget(username="ann")
        gamma = await Article.objects.aget(title="Gamma")
        updated = await Article.objects.filter(author=ann).aupdate(score=F("score") + 10)
        assert updated == 2
        assert gamma.score == 17  # the loaded object has the new value, no lazy load needed
        assert await Article.objects.filter(score__gte=10).acount() == 2
        assert await Article.objects.filter(title="Alpha").adelete() == 1
        assert await Article.objects.acount() == 2
        best = await Collection.objects.acreate(name="best")
        await CollectionEntry.objects.acreate(collection=best, article=gamma)
        with pytest.raises(ProtectedError):
            await Article.objects.filter(id=gamma.id).adelete()
        assert await Article.objects.filter(id=gamma.id).aexists()

    run(news, work)


def test_get_or_create_and_update_or_create(news: Database) -> None:
    async def work() -> None:
        tag, created = await Tag.objects.aget_or_create(name="rust")
        assert created
        again, created = await Tag.objects.aget_or_create(name="rust")
        assert not created
        assert again is tag
        bob = await User.objects.aget(username="bob")
        profile, created = await Profile.objects.aupdate_or_create(
            user=bob, defaults={"bio": "first"}
        )
        assert created
        assert profile.bio == "first"
        profile, created = await Profile.objects.aupdate_or_create(
            user=bob, defaults={"bio": "second"}
        )
        assert not created
        assert profile.bio == "second"
        with pytest.raises(sa.exc.IntegrityError):
            await Article.objects.aget_or_create(title="Orphan", author_id=10**9)
        assert await Article.objects.acount() == 3

    run(news, work)


def test_get_or_create_race(news: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with news.session():
        Tag.objects.create(name="rust")
    real = QuerySet._fetch_all_async
    calls = 0

    async def miss_first_lookup(self: QuerySet[Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        return [] if calls == 1 else await real(self)

    monkeypatch.setattr(QuerySet, "_fetch_all_async", miss_first_lookup)

    async def work() -> None:
        tag, created = await Tag.objects.aget_or_create(name="rust")
        assert not created
        assert tag.name == "rust"
        assert await Tag.objects.filter(name="rust").acount() == 1

    run(news, work)


def test_model_methods(news: Database) -> None:
    async def work() -> None:
        alpha = await Article.objects.aget(title="Alpha")
        stamp = alpha.updated
        alpha.title = "Alpha 2"
        await alpha.asave()
        assert alpha.updated > stamp
        alpha.body = "not saved"
        await alpha.arefresh()
        assert (alpha.title, alpha.body) == ("Alpha 2", "")
        best = await Collection.objects.acreate(name="best")
        await CollectionEntry.objects.acreate(collection=best, article=alpha)
        with pytest.raises(ProtectedError, match=r"CollectionEntry\.article"):
            await alpha.adelete()
        assert await Article.objects.filter(id=alpha.id).aexists()
        beta = await Article.objects.aget(title="Beta")
        await beta.adelete()
        assert await Article.objects.acount() == 2
        assert await Vote.objects.acount() == 2  # Beta's vote went with it

    run(news, work)


def test_paging(news: Database) -> None:
    from kettle.db import Paginator

    async def work() -> None:
        page = await Paginator(Article.objects.order_by("title"), per_page=2).apage("2")
        assert [a.title for a in page.items] == ["Gamma"]
        assert (page.number, page.num_pages, page.has_next, page.has_previous) == (
            2,
            2,
            False,
            True,
        )

    run(news, work)
    assert dt.UTC  # the timestamps above compare aware values
