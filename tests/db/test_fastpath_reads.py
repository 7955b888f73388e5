"""QuerySet reads on the compiled fast path (kettle.db._fastpath): the same answers as
SQLAlchemy's path on every engine, sync and async, inside the unit of work, with the
session's identity map, autoflush, lazy loads, ``save()`` and statement counting intact.

The differential test runs many shapes through both paths and compares everything the
results hold; test_fastpath_modules.py re-runs the QuerySet test modules with the path off.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun, own_tables
from newsmodels import Article, Comment, Profile, Status, Tag, User, Vote
from test_unavailable import LEAKS

from kettle import App, Settings
from kettle.db import (
    Count,
    Database,
    DoesNotExist,
    Max,
    Q,
    QuerySet,
    RelationNotLoaded,
    _compiled,
    _fastpath,
    atomic,
    fields,
    sync_session,
)
from kettle.db._unavailable import DETAIL
from kettle.db.models import NAMING_CONVENTION, Model
from kettle.testing import TestClient, assert_num_queries
from tcpproxy import Proxy

START = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


class Mood(enum.Enum):
    CALM = "calm"
    LOUD = "loud"


class Typeds(Model):
    """Models of these tests only: their table lives in a MetaData of its own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Typed(Typeds):
    """A column of every kind whose values a driver returns in its own way."""

    name: str = fields.string(max_length=50)
    flag: bool = fields.boolean()
    when: dt.datetime | None = fields.datetime(null=True)
    day: dt.date | None = fields.date(null=True)
    amount: Decimal | None = fields.decimal(8, 3, null=True)
    ratio: float | None = fields.float(null=True)
    token: uuid.UUID | None = fields.uuid(null=True)
    data: dict[str, Any] | None = fields.json(null=True)
    mood: Mood = fields.enum(Mood, default=Mood.CALM)
    big: int = fields.big_integer(default=0)


@pytest.fixture
def news(db: Database) -> Database:
    """ann wrote three articles, bob one (one without a rating); comments with parents."""
    with db.session():
        ann = User.objects.create(username="ann", email="ann@example.com", is_editor=True)
        bob = User.objects.create(username="bob")
        Profile.objects.create(user=ann, bio="kettles")
        python, web = Tag.objects.create(name="python"), Tag.objects.create(name="web")
        rows = [
            ("Alpha", ann, 3, Status.PUBLISHED, Decimal("1.50"), [python]),
            ("Beta", bob, 7, Status.DRAFT, None, [web]),
            ("Gamma", ann, 7, Status.PUBLISHED, Decimal("9.99"), [python, web]),
            ("Delta", ann, 1, Status.PUBLISHED, Decimal("0.25"), []),
        ]
        for i, (title, author, score, status, rating, tags) in enumerate(rows):
            article = Article.objects.create(
                title=title,
                author=author,
                score=score,
                status=status,
                rating=rating,
                created=START + dt.timedelta(days=i, microseconds=i),
                tags=tags,
            )
            Vote.objects.create(article=article, user=bob)
            if score > 2:
                Vote.objects.create(article=article, user=ann, value=-1)
            top = Comment.objects.create(article=article, author=bob, text=f"on {title}")
            Comment.objects.create(article=article, author=None, parent=top, text="reply")
    return db


@pytest.fixture
def fast_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement the fast path ran (hydrated) during the test."""
    ran: list[str] = []
    hydrate = _fastpath._hydrate

    def counted(connection: Any, session: Any, key: Any, shape: Any, *rest: Any) -> Any:
        ran.append(shape.sql)
        return hydrate(connection, session, key, shape, *rest)

    monkeypatch.setattr(_fastpath, "_hydrate", counted)
    return ran


def snapshot(value: Any) -> Any:
    """Everything a result holds, comparable: a model's columns, its loaded to-one
    relations and its annotations; lists, dicts and tuples item by item."""
    if isinstance(value, Model):
        mapper = sa.inspect(type(value))
        columns = tuple((p.key, value.__dict__.get(p.key)) for p in mapper.column_attrs)
        related = tuple(
            (r.key, snapshot(value.__dict__[r.key]))
            for r in mapper.relationships
            if not r.uselist and r.key in value.__dict__
        )
        annotations = tuple(sorted(value.__dict__.get("_kettle_annotations", {}).items()))
        return (type(value).__name__, columns, related, annotations)
    if isinstance(value, list | tuple):
        return type(value)(snapshot(item) for item in value)
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    return value


#: Shapes the fast path runs; each is compared with SQLAlchemy's path.
COVERED: list[Callable[[], QuerySet[Any]]] = [
    lambda: Article.objects.all(),
    lambda: Article.objects.order_by("-id")[:2],
    lambda: Article.objects.order_by("title")[1:3],
    lambda: Article.objects.order_by("id")[2:],
    lambda: Article.objects.filter(score__gte=3).order_by("id"),
    lambda: Article.objects.filter(score=7, status=Status.PUBLISHED),
    lambda: Article.objects.exclude(rating__isnull=True).order_by("-rating"),
    lambda: Article.objects.filter(Q(score=1) | Q(title__icontains="ALP")).order_by("id"),
    lambda: Article.objects.filter(title__startswith="G"),
    lambda: Article.objects.filter(author__username="ann").order_by("author__username", "-id"),
    lambda: Article.objects.filter(created__gte=START + dt.timedelta(days=1)).order_by("created"),
    lambda: Article.objects.filter(rating__gt=Decimal("1.00")).order_by("rating"),
    lambda: Article.objects.filter(tags__name="web").order_by("id"),
    lambda: Article.objects.select_related("author").order_by("id"),
    lambda: Article.objects.select_related("author", "author__profile").order_by("-score", "id"),
    lambda: Comment.objects.select_related("parent", "author").order_by("id"),
    lambda: Comment.objects.select_related("parent__author", "article").order_by("-id")[:3],
    lambda: Article.objects.annotate(n=Count("votes")).order_by("id"),
    lambda: Article.objects.annotate(n=Count("votes")).filter(n__gte=2).order_by("-n", "id"),
    lambda: Article.objects.annotate(votes=Count("votes"), top=Max("votes__value")).order_by("id"),
    lambda: Article.objects.select_related("author").annotate(n=Count("votes")).order_by("id"),
    lambda: Article.objects.values(),
    lambda: Article.objects.order_by("id").values("title", "author__username", "rating"),
    lambda: Article.objects.order_by("-score", "title").values_list("title", "score"),
    lambda: Article.objects.order_by("id").values_list("created", flat=True),
    lambda: Article.objects.values_list("score", flat=True).order_by("score").distinct(),
    lambda: Article.objects.annotate(n=Count("votes")).order_by("id").values("title", "n"),
    lambda: Vote.objects.order_by("id").values("article__author__username", "user__is_editor"),
    lambda: User.objects.order_by("username"),
    lambda: Profile.objects.select_related("user"),
    lambda: Tag.objects.filter(articles__score=7).order_by("name").distinct(),
    lambda: Article.objects.filter(id__in=[1, 2, 3]).order_by("id"),
    lambda: Article.objects.filter(title__in=["Beta", "Gamma"], score__in=[7]).order_by("id"),
    lambda: Article.objects.exclude(id__in=[]).filter(status__in=[Status.DRAFT]),
    lambda: Article.objects.filter(id__in=Article.objects.filter(score=7)).order_by("id"),
]

#: Shapes that take SQLAlchemy's path (decided once per shape): answers stay the same.
FALLBACK: list[Callable[[], QuerySet[Any]]] = [
    lambda: Article.objects.prefetch_related("tags").order_by("id"),
    lambda: Article.objects.select_for_update().order_by("id"),
    lambda: Article.objects.values("title", "title"),
]


def both_paths(db: Database, run: Callable[[], Any]) -> tuple[Any, Any]:
    """``snapshot(run())`` in a unit of work with the fast path on, then off."""
    results = []
    for on in (True, False):
        db.fast_path = on
        with db.session():
            results.append(snapshot(run()))
    db.fast_path = True
    return results[0], results[1]


@pytest.mark.parametrize("query", COVERED + FALLBACK)
def test_every_shape_answers_as_sqlalchemy(
    news: Database, query: Callable[[], QuerySet[Any]], fast_runs: list[str]
) -> None:
    fast, slow = both_paths(news, lambda: list(query()))
    assert fast == slow
    assert fast  # every case finds rows
    assert bool(fast_runs) is (query in COVERED)


@pytest.mark.parametrize("query", COVERED + FALLBACK)
def test_every_shape_answers_as_sqlalchemy_async(
    news: Database, query: Callable[[], QuerySet[Any]], fast_runs: list[str]
) -> None:
    async def run(on: bool) -> Any:
        news.fast_path = on
        async with news.async_session():
            return snapshot(await query().alist())

    fast = arun(news, lambda: run(True))
    slow = arun(news, lambda: run(False))
    news.fast_path = True
    assert fast == slow
    assert bool(fast_runs) is (query in COVERED)


def test_get_first_last_and_misses(news: Database, fast_runs: list[str]) -> None:
    def reads() -> Any:
        return (
            Article.objects.get(pk=2),
            Article.objects.get(title="Gamma"),
            User.objects.get(username="bob", is_editor=False),
            Article.objects.filter(author__username="ann").get(score=7),
            Article.objects.order_by("created").first(),
            Article.objects.last(),
            Article.objects.filter(score=99).first(),
            Article.objects.get(title="Beta").author.username,  # a lazy load (sync)
        )

    fast, slow = both_paths(news, reads)
    assert fast == slow
    assert len(fast_runs) == 8  # each read; the lazy load of .author is SQLAlchemy's
    with news.session(), pytest.raises(DoesNotExist):
        Article.objects.get(pk=12345)


def test_column_types_convert_as_sqlalchemy(db: Database, fast_runs: list[str]) -> None:
    with own_tables(Typeds.metadata, db):
        with db.session():
            Typed.objects.create(
                name="full",
                flag=True,
                when=START,
                day=dt.date(2026, 2, 28),
                amount=Decimal("12.345"),
                ratio=0.125,
                token=uuid.UUID("12345678-1234-5678-1234-567812345678"),
                data={"a": [1, 2, {"b": None}], "c": "ü"},
                mood=Mood.LOUD,
                big=2**62,
            )
            Typed.objects.create(name="empty", flag=False)

        def reads() -> Any:
            return (
                list(Typed.objects.order_by("id")),
                list(Typed.objects.order_by("id").values()),
                Typed.objects.get(token=uuid.UUID("12345678-1234-5678-1234-567812345678")),
                list(Typed.objects.filter(when__lt=START + dt.timedelta(seconds=1))),
                list(Typed.objects.filter(flag=False).values_list("mood", "big")),
            )

        fast, slow = both_paths(db, reads)
        assert fast == slow
        assert len(fast_runs) == 5
        row = dict(fast[1][0])
        assert row["token"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
        assert row["data"] == {"a": [1, 2, {"b": None}], "c": "ü"}
        assert row["mood"] is Mood.LOUD
        assert row["amount"] == Decimal("12.345")
        assert row["when"] == START
        assert row["day"] == dt.date(2026, 2, 28)


def test_identity_one_object_per_row_and_local_changes_kept(news: Database) -> None:
    with news.session() as session:
        first = Article.objects.get(title="Alpha")
        assert first in session
        assert sa.inspect(first).persistent
        again = list(Article.objects.filter(score=3))
        assert again == [first]
        assert again[0] is first
        with session.no_autoflush:
            first.title = "changed here"
            # Not flushed, not overwritten: as SQLAlchemy without populate_existing.
            assert Article.objects.get(pk=first.id) is first
            assert first.title == "changed here"
        related = Article.objects.select_related("author").get(title="Beta")
        assert related.author is User.objects.get(username="bob")


def test_autoflush_before_a_read(news: Database, fast_runs: list[str]) -> None:
    with news.session():
        article = Article.objects.get(title="Alpha")
        article.title = "Renamed"  # pending: the next read flushes it first
        assert [a.title for a in Article.objects.filter(title="Renamed")] == ["Renamed"]
        assert list(Article.objects.filter(title="Alpha")) == []
    with news.session():
        assert Article.objects.get(title="Renamed").id == article.id


def test_reads_inside_the_unit_transaction(news: Database) -> None:
    class Undo(Exception):
        pass

    def nested() -> None:
        with atomic():
            User.objects.create(username="dave")
            assert [u.username for u in User.objects.filter(username="dave")] == ["dave"]
            raise Undo

    def unit() -> None:
        with news.session():
            User.objects.create(username="carol")
            assert User.objects.get(username="carol").username == "carol"  # fast, sees it
            assert "carol" in list(User.objects.values_list("username", flat=True))
            with pytest.raises(Undo):
                nested()
            assert list(User.objects.filter(username="dave")) == []  # the savepoint undone
            raise Undo

    with pytest.raises(Undo):
        unit()
    with news.session():
        assert list(User.objects.filter(username__in=["carol", "dave"])) == []


def test_async_reads_see_the_unit_writes(news: Database) -> None:
    async def work() -> Any:
        async with news.async_session():
            await User.objects.acreate(username="erin")
            found = await User.objects.aget(username="erin")
            names = (
                await User.objects.order_by("username").values_list("username", flat=True).alist()
            )
            return found.username, names

    assert arun(news, work) == ("erin", ["ann", "bob", "erin"])


def test_fast_path_instances_save_delete_and_lazy_load(news: Database) -> None:
    with news.session():
        article = Article.objects.order_by("id").first()
        assert article is not None
        article.score = 42
        article.save()
        assert article.author.username == "ann"  # a lazy load, sync
        assert {t.name for t in article.tags} == {"python"}
        doomed = Article.objects.get(title="Delta")
        doomed.delete()
    with news.session():
        assert Article.objects.get(pk=article.id).score == 42
        assert not Article.objects.filter(title="Delta").exists()


def test_async_instances_refuse_lazy_loads_and_save(news: Database) -> None:
    async def work() -> Any:
        async with news.async_session():
            article = await Article.objects.aget(title="Gamma")
            with pytest.raises(RelationNotLoaded):
                article.author  # noqa: B018
            loaded = await Article.objects.select_related("author").aget(title="Beta")
            article.score = 8
            await article.asave()
            return loaded.author.username
        return None

    assert arun(news, work) == "bob"
    with news.session():
        assert Article.objects.get(title="Gamma").score == 8


def test_statements_are_counted(news: Database, fast_runs: list[str]) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(news.sync_engine, "before_cursor_execute", record)
    try:
        with news.session(), assert_num_queries(3):
            Article.objects.get(pk=1)
            list(Article.objects.filter(score=7))
            list(Article.objects.values_list("title", flat=True))
    finally:
        sa.event.remove(news.sync_engine, "before_cursor_execute", record)
    assert len(fast_runs) == 3
    assert seen == fast_runs


def test_shapes_are_compiled_once_and_the_cache_is_bounded(
    news: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _compiled.ShapeCache(3)
    monkeypatch.setattr(_compiled, "CACHE", cache)
    monkeypatch.setattr(_fastpath, "CACHE", cache)
    compiled: list[Any] = []
    compile_queryset = _compiled.compile_queryset

    def counting(key: Any, qs: Any, dialect: Any) -> Any:
        compiled.append(key)
        return compile_queryset(key, qs, dialect)

    monkeypatch.setattr(_fastpath, "compile_queryset", counting)
    with news.session():
        for score in (1, 3, 7, 99):
            list(Article.objects.filter(score=score)[: score + 1])  # one shape, 4 values
        assert len(compiled) == 1
        assert len(cache) == 1
        names = ["title", "score", "created", "id", "rating"]
        for name in names:
            list(Article.objects.order_by(name))
        assert len(compiled) == 6
        assert len(cache) == 3
        list(Article.objects.order_by("rating"))  # still kept: the most recent
        assert len(compiled) == 6
        for ids in ([1], [1, 2], [2, 3, 4], [], [3, 4]):  # one shape, four SQL texts
            found = [a.id for a in Article.objects.filter(id__in=ids).order_by("id")]
            assert found == ids
        assert len(compiled) == 7


def test_switched_off(
    news: Database, fast_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETTLE_DB_FAST_PATH", "0")
    off = Database(url=news.url)
    try:
        assert off.fast_path is False
        with off.session():
            assert len(list(Article.objects.all())) == 4
        assert fast_runs == []
    finally:
        off.dispose()
    assert Database(url=news.url, fast_path=True).fast_path is True
    assert Database(url=news.url, echo=True).fast_path is False


def test_bound_sessions_read_on_the_outer_transaction(news: Database, fast_runs: list[str]) -> None:
    with news.sync_engine.connect() as plain:
        # As kettle.testing's db fixture: on PostgreSQL an explicit level keeps the
        # outer transaction from its first statement (no deferred BEGIN).
        connection = plain
        if news.dialect == "postgresql":
            connection = plain.execution_options(isolation_level="READ COMMITTED")
        outer = connection.begin()
        news.bind_to(connection)
        try:
            with news.session():
                User.objects.create(username="frank")
            with news.session():
                assert User.objects.get(username="frank").username == "frank"

            async def read() -> list[str]:
                async with news.async_session():
                    return (
                        await User.objects.filter(username="frank")
                        .values_list("username", flat=True)
                        .alist()
                    )

            assert arun(news, read) == ["frank"]
        finally:
            news.bind_to(None)
            outer.rollback()
    assert len(fast_runs) == 2
    with news.session():
        assert list(User.objects.filter(username="frank")) == []


def test_sessions_with_listeners_of_their_own_take_sqlalchemy_path(
    news: Database, fast_runs: list[str]
) -> None:
    def listener(state: Any) -> None:
        pass

    with news.session() as session:
        sa.event.listen(session, "do_orm_execute", listener)
        assert len(list(Article.objects.all())) == 4
        assert sync_session() is session
    assert fast_runs == []


@pytest.fixture
def proxied(db: Database) -> Iterator[tuple[Proxy, str]]:
    """A proxy in front of the engine's server, and the database's URL through it."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite has no server to lose")
    running = Proxy(db.url.host or "127.0.0.1", db.url.port or 5432)
    running.start()
    url = db.url.set(host="127.0.0.1", port=running.port)
    yield running, url.render_as_string(hide_password=False)
    running.close()


@pytest.mark.parametrize("kind", ["def", "async"])
def test_outage_between_fast_reads_is_503(
    news: Database, proxied: tuple[Proxy, str], tmp_path: Path, kind: str, fast_runs: list[str]
) -> None:
    proxy, url = proxied
    app = App(settings=Settings.load(env="testing", env_file=None), root=tmp_path)
    Database(app, url=url)

    if kind == "def":

        @app.get("/names")
        def names(cut: bool = False) -> list[str]:
            first = User.objects.get(username="ann").username
            if cut:
                proxy.stop()
            return [first, *User.objects.order_by("id").values_list("username", flat=True)]

    else:

        @app.get("/names")
        async def anames(cut: bool = False) -> list[str]:
            first = (await User.objects.aget(username="ann")).username
            if cut:
                proxy.stop()
            rest = await User.objects.order_by("id").values_list("username", flat=True).alist()
            return [first, *rest]

    with TestClient(app) as client:
        assert client.get("/names").json() == ["ann", "ann", "bob"]
        assert len(fast_runs) == 2
        response = client.get("/names", params={"cut": True})
        assert response.status_code == 503
        assert response.json()["detail"] == DETAIL
        assert not [leak for leak in LEAKS if leak in response.text]
        assert client.get("/names").status_code == 503  # still out of reach
        proxy.start()
        assert client.get("/names").json() == ["ann", "ann", "bob"]


def test_a_slice_past_32_bits_after_a_small_one(news: Database) -> None:
    """SQLAlchemy binds a LIMIT of 32 bits or more as a BIGINT (PostgreSQL's SQL names
    the type): the two are different shapes."""
    with news.session():
        assert [a.title for a in Article.objects.order_by("title")[1:3]] == ["Beta", "Delta"]
        huge = Article.objects.order_by("title")[1 : 2**62]
        assert [a.title for a in huge] == ["Beta", "Delta", "Gamma"]
