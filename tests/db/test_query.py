"""QuerySet: ordering, slicing, fetching, values, eager loading and writing, on every engine."""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from newsmodels import Article, Comment, Profile, Status, Tag, User, Vote

from kettle.db import (
    Count,
    Database,
    DoesNotExist,
    F,
    FieldError,
    ModelValidationError,
    MultipleObjectsReturned,
    ProtectedError,
    Q,
    QuerySet,
    sync_session,
)
from kettle.exceptions import HTTPException


@contextlib.contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on ``db`` (sync and async engines) inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
            seen.append(statement)

    engine = db.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def news(db: Database) -> Iterator[Database]:
    """ann wrote three articles, bob one; tags, votes and a profile."""
    with db.session():
        ann = User.objects.create(username="ann")
        bob = User.objects.create(username="bob")
        Profile.objects.create(user=ann, bio="kettles")
        python, web = Tag.objects.create(name="python"), Tag.objects.create(name="web")
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        for i, (title, author, score) in enumerate(
            [("Alpha", ann, 3), ("Beta", bob, 7), ("Gamma", ann, 7), ("Delta", ann, 1)]
        ):
            Article.objects.create(
                title=title,
                author=author,
                score=score,
                created=start + dt.timedelta(days=i),
                tags=[python, web] if i % 2 else [python],
            )
        for article in Article.objects.filter(title__in=["Beta", "Gamma"]):
            Vote.objects.create(article=article, user=ann)
            Vote.objects.create(article=article, user=bob)
    with db.session():
        yield db


def titles(qs: Any) -> list[str]:
    return [a.title for a in qs]


# --- ordering and slicing -------------------------------------------------------------------
def test_meta_ordering_applies_and_order_by_overrides(news: Database) -> None:
    assert titles(Article.objects.all()) == ["Delta", "Gamma", "Beta", "Alpha"]  # -id
    assert titles(Article.objects.order_by("title")) == ["Alpha", "Beta", "Delta", "Gamma"]
    assert titles(Article.objects.order_by("-score", "title")) == [
        "Beta",
        "Gamma",
        "Alpha",
        "Delta",
    ]
    assert titles(Article.objects.order_by("author__username", "-created")) == [
        "Delta",
        "Gamma",
        "Alpha",
        "Beta",
    ]
    assert titles(Article.objects.order_by("-author", "pk")) == ["Beta", "Alpha", "Gamma", "Delta"]
    # NULLs sort lowest on every engine (PostgreSQL alone would put them highest).
    by_bio = Article.objects.order_by("author__profile__bio", "title")
    assert titles(by_bio) == ["Beta", "Alpha", "Delta", "Gamma"]
    by_bio = Article.objects.order_by("-author__profile__bio", "title")
    assert titles(by_bio) == ["Alpha", "Delta", "Gamma", "Beta"]
    assert sorted(titles(Article.objects.order_by())) == ["Alpha", "Beta", "Delta", "Gamma"]
    with pytest.raises(FieldError, match="holds many rows"):
        Article.objects.order_by("tags__name")


def test_slicing(news: Database) -> None:
    qs = Article.objects.order_by("title")
    assert titles(qs[:2]) == ["Alpha", "Beta"]
    assert titles(qs[1:3]) == ["Beta", "Delta"]
    assert titles(qs[3:]) == ["Gamma"]
    assert titles(qs[1:4][1:2]) == ["Delta"]
    assert titles(qs[1:3][1:]) == ["Delta"]
    assert titles(qs[1:3][5:]) == []
    assert titles(qs[:2][:5]) == ["Alpha", "Beta"]
    assert qs[2].title == "Delta"
    assert qs[1:][1].title == "Delta"
    with pytest.raises(IndexError):
        qs[4]
    with pytest.raises(IndexError, match="negative"):
        qs[-1]
    with pytest.raises(IndexError):
        qs[::2]
    with pytest.raises(TypeError, match="filter first"):
        qs[:2].filter(score=1)
    with pytest.raises(TypeError, match="order first"):
        qs[:2].order_by("score")


def test_slices_of_unordered_querysets_are_stable(news: Database) -> None:
    # Tag has no Meta.ordering: a slice is taken by primary key, never at random.
    names = [t.name for t in Tag.objects.all()[:1]] + [t.name for t in Tag.objects.all()[1:]]
    assert names == ["python", "web"]
    assert "ORDER BY" in str(Tag.objects.all()[:1].statement)


# --- fetching ---------------------------------------------------------------------------------
def test_get(news: Database) -> None:
    assert Article.objects.get(title="Beta").author.username == "bob"
    assert Article.objects.get(Q(score=7) & Q(author__username="bob")).title == "Beta"
    with pytest.raises(DoesNotExist) as caught:
        Article.objects.get(title="Omega")
    assert isinstance(caught.value, HTTPException)
    assert caught.value.status == 404
    assert "No Article matches title='Omega'" in caught.value.detail
    with pytest.raises(MultipleObjectsReturned, match="more than one Article"):
        Article.objects.get(score=7)


def test_first_last_exists_count(news: Database) -> None:
    assert Article.objects.order_by("title").first().title == "Alpha"  # type: ignore[union-attr]
    assert Article.objects.order_by("title").last().title == "Gamma"  # type: ignore[union-attr]
    assert Article.objects.first().title == "Delta"  # type: ignore[union-attr]  # Meta: -id
    assert Article.objects.last().title == "Alpha"  # type: ignore[union-attr]
    assert Tag.objects.first().name == "python"  # type: ignore[union-attr]  # by pk
    assert Tag.objects.last().name == "web"  # type: ignore[union-attr]
    assert Article.objects.filter(title="Omega").first() is None
    assert Article.objects.filter(score=7).exists()
    assert not Article.objects.filter(score=99).exists()
    assert not Comment.objects.exists()  # an empty table, no filter
    assert Tag.objects.all().exists()
    assert Article.objects.count() == 4
    assert Article.objects.filter(author__username="ann").count() == 3
    assert Article.objects.order_by("title")[1:10].count() == 3
    assert Article.objects.values("score").distinct().count() == 3
    assert Article.objects.filter(tags__name__in=["python", "web"]).count() == 4
    assert Article.objects.all()  # sync code may ask (see test_truth_value.py)


def test_values_and_values_list(news: Database) -> None:
    qs = Article.objects.order_by("title")
    assert list(qs.values("title", "author__username")[:2]) == [
        {"title": "Alpha", "author__username": "ann"},
        {"title": "Beta", "author__username": "bob"},
    ]
    ann_id = User.objects.get(username="ann").id
    assert list(qs.filter(title="Alpha").values("author")) == [{"author": ann_id}]
    assert list(qs.values_list("title", "score")[:1]) == [("Alpha", 3)]
    assert list(qs.values_list("title", flat=True)) == ["Alpha", "Beta", "Delta", "Gamma"]
    row = qs.values()[0]
    assert set(row) == {c.key for c in sa.inspect(Article).column_attrs}
    assert row["status"] is Status.PUBLISHED
    counted = qs.annotate(n=Count("votes")).values("title", "n")
    assert list(counted)[:2] == [{"title": "Alpha", "n": 0}, {"title": "Beta", "n": 2}]
    assert qs.values_list("score", flat=True).distinct().count() == 3
    with pytest.raises(TypeError, match="exactly one"):
        qs.values_list("title", "score", flat=True)


def test_statement_is_a_select_to_drop_down_to(news: Database) -> None:
    qs = Article.objects.filter(score__gte=3).order_by("title")
    stmt = qs.statement
    assert isinstance(stmt, sa.Select)
    rows = sync_session().scalars(stmt.limit(1)).all()
    assert [a.title for a in rows] == ["Alpha"]
    assert "QuerySet Article" in repr(qs)
    assert isinstance(Article.objects, QuerySet)


# --- eager loading ---------------------------------------------------------------------------
def test_select_related_loads_in_the_same_query(news: Database) -> None:
    with statements(news) as seen:
        names = [a.author.username for a in Article.objects.all()]
    assert sorted(names) == ["ann", "ann", "ann", "bob"]
    assert len(seen) == 3  # the articles, then ann and bob one lazy load each
    sync_session().expunge_all()
    with statements(news) as seen:
        loaded = list(Article.objects.select_related("author", "author__profile"))
        bios = [a.author.profile.bio if a.author.profile else None for a in loaded]
    assert len(seen) == 1
    assert sorted(bios, key=lambda bio: (bio is None, bio)) == ["kettles"] * 3 + [None]
    with pytest.raises(FieldError, match="use prefetch_related"):
        Article.objects.select_related("tags")
    with pytest.raises(FieldError, match="Relations are"):
        Article.objects.select_related("writer")


def test_prefetch_related_runs_one_query_per_relation(news: Database) -> None:
    sync_session().expunge_all()
    with statements(news) as seen:
        loaded = list(Article.objects.prefetch_related("tags", "votes__user").order_by("title"))
        tags = [sorted(t.name for t in a.tags) for a in loaded]
        voters = [sorted(v.user.username for v in a.votes) for a in loaded]
    assert len(seen) == 4  # articles, tags, votes, their users
    assert tags == [["python"], ["python", "web"], ["python", "web"], ["python"]]
    assert voters == [[], ["ann", "bob"], [], ["ann", "bob"]]


# --- writing ----------------------------------------------------------------------------------
def test_update_with_f_expressions(news: Database) -> None:
    gamma = Article.objects.get(title="Gamma")
    before = gamma.updated
    count = Article.objects.filter(author__username="ann").update(score=F("score") + 1)
    assert count == 3
    # Objects already loaded see the new values (no stale identity map).
    assert gamma.score == 8
    assert Article.objects.get(title="Gamma").score == 8
    assert gamma.updated > before  # auto_now
    assert sorted(Article.objects.values_list("score", flat=True)) == [2, 4, 7, 8]
    bob = User.objects.get(username="bob")
    assert Article.objects.filter(title="Alpha").update(author=bob, status="draft") == 1
    alpha = Article.objects.get(title="Alpha")
    assert (alpha.author_id, alpha.status) == (bob.id, Status.DRAFT)
    assert Article.objects.order_by("title")[:2].update(score=0) == 2
    assert sorted(Article.objects.values_list("score", flat=True)) == [0, 0, 2, 8]
    voted = Article.objects.annotate(n=Count("votes")).filter(n__gte=2)
    assert voted.update(score=F("score") * 10) == 2
    assert Article.objects.get(title="Gamma").score == 80


def test_update_refuses_bad_fields_and_values(news: Database) -> None:
    with pytest.raises(FieldError, match="no field 'nope'"):
        Article.objects.update(nope=1)
    with pytest.raises(FieldError):
        Article.objects.update(tags=[])
    with pytest.raises(ModelValidationError) as caught:
        Article.objects.update(title="x" * 201, score=2**40)
    assert set(caught.value.errors) == {"title", "score"}
    assert Article.objects.filter(title__startswith="x").count() == 0


def test_delete(news: Database) -> None:
    delta = Article.objects.get(title="Delta")
    assert Article.objects.filter(score__lt=3).delete() == 1
    assert not Article.objects.filter(title="Delta").exists()
    assert sa.inspect(delta).deleted or sa.inspect(delta).detached
    assert Article.objects.order_by("title")[:1].delete() == 1  # Alpha
    assert titles(Article.objects.order_by("title")) == ["Beta", "Gamma"]
    # The database cascades: votes went with their articles.
    assert Vote.objects.count() == 4
    assert Article.objects.filter(title="Beta").delete() == 1
    assert Vote.objects.count() == 2


def test_bulk_create_validates_everything_first(news: Database) -> None:
    with statements(news) as seen:
        made = Tag.objects.bulk_create([Tag(name=f"t{i}") for i in range(5)], batch_size=2)
    assert all(t.id is not None for t in made)
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert 3 <= len(inserts) <= 5  # one per batch where the driver allows it
    with pytest.raises(ModelValidationError, match="name"):
        Tag.objects.bulk_create([Tag(name="ok"), Tag(name="x" * 31)])
    assert not Tag.objects.filter(name="ok").exists()


def test_bulk_update_writes_one_statement_per_batch(news: Database) -> None:
    articles = list(Article.objects.order_by("title"))
    stamp = articles[0].updated
    for i, article in enumerate(articles):
        article.score = 100 + i
        article.title = article.title.upper()
    with statements(news) as seen:
        assert Article.objects.bulk_update(articles, ["score", "title"], batch_size=3) == 4
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert not any(sync_session().is_modified(a) for a in articles)
    with statements(news) as seen:
        sync_session().flush()
    assert seen == []  # nothing left to write
    assert articles[0].updated > stamp
    sync_session().expire_all()
    assert list(Article.objects.order_by("score").values_list("title", "score")) == [
        ("ALPHA", 100),
        ("BETA", 101),
        ("DELTA", 102),
        ("GAMMA", 103),
    ]
    with pytest.raises(FieldError):
        Article.objects.bulk_update(articles, ["nope"])
    with pytest.raises(ValueError, match="not saved yet"):
        Article.objects.bulk_update([Article(title="new")], ["title"])
    articles[0].title = ""
    with pytest.raises(ModelValidationError, match="title"):
        Article.objects.bulk_update(articles, ["title"])


def test_get_or_create(news: Database) -> None:
    tag, created = Tag.objects.get_or_create(name="rust")
    assert created
    assert tag.id is not None
    again, created = Tag.objects.get_or_create(name__exact="rust")
    assert not created
    assert again is tag
    ann = User.objects.get(username="ann")
    article, created = Article.objects.get_or_create(
        title="Epsilon", author=ann, defaults={"score": 9}
    )
    assert created
    assert article.score == 9
    assert article.author is ann
    with pytest.raises(ModelValidationError, match="title"):
        Article.objects.get_or_create(title="x" * 300, defaults={"author": ann})


def test_get_or_create_race_returns_the_other_row(
    news: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request commits "rust" between our lookup and our insert.
    with news.session():
        Tag.objects.create(name="rust")
    real = QuerySet._fetch_all_sync
    calls = 0

    def miss_first_lookup(self: QuerySet[Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        return [] if calls == 1 else real(self)

    monkeypatch.setattr(QuerySet, "_fetch_all_sync", miss_first_lookup)
    tag, created = Tag.objects.get_or_create(name="rust")
    assert not created
    assert tag.name == "rust"
    # The failed insert was undone with its savepoint; the unit of work goes on.
    assert Tag.objects.filter(name="rust").count() == 1
    Tag.objects.create(name="go")


def test_get_or_create_reraises_integrity_errors_that_are_not_races(news: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        Article.objects.get_or_create(title="Orphan", author_id=10**9)
    assert Article.objects.count() == 4


def test_update_or_create(news: Database) -> None:
    ann = User.objects.get(username="ann")
    profile, created = Profile.objects.update_or_create(user=ann, defaults={"bio": "teapots"})
    assert not created
    assert profile.bio == "teapots"
    bob = User.objects.get(username="bob")
    profile, created = Profile.objects.update_or_create(user=bob, defaults={"bio": "new"})
    assert created
    assert profile.user is bob
    sync_session().expire_all()
    assert {p.bio for p in Profile.objects.all()} == {"teapots", "new"}
    with pytest.raises(ModelValidationError, match="user: This field is required"):
        Profile.objects.update_or_create(user=ann, defaults={"user": None})
    sync_session().rollback()  # the refused change stays on the object until then


def test_update_or_create_race_updates_the_other_row(
    news: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with news.session():
        Tag.objects.create(name="rust")
    real = QuerySet._fetch_all_sync
    calls = 0

    def miss_two_lookups(self: QuerySet[Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        return [] if calls <= 2 else real(self)

    monkeypatch.setattr(QuerySet, "_fetch_all_sync", miss_two_lookups)
    # The row has no other fields to change; renaming through defaults would break the
    # lookup, so check the object found is the committed one.
    tag, created = Tag.objects.update_or_create(name="rust", defaults={})
    assert not created
    assert tag.id is not None
    assert Tag.objects.filter(name="rust").count() == 1


def test_protected_rows_refuse_a_queryset_delete(news: Database) -> None:
    from newsmodels import Collection, CollectionEntry

    alpha = Article.objects.get(title="Alpha")
    CollectionEntry.objects.create(collection=Collection.objects.create(name="c"), article=alpha)
    with pytest.raises(ProtectedError) as caught:
        Article.objects.filter(score__lt=5).delete()
    assert caught.value.status == 409
    assert "CollectionEntry.article (PROTECT)" in caught.value.detail
    assert Article.objects.count() == 4  # nothing went, and the unit of work goes on
    Comment.objects.create(article=alpha, text="still usable")


def test_get_or_create_sees_a_row_committed_after_its_snapshot(news: Database) -> None:
    if sync_session().get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite runs one writer at a time: this race cannot happen there")
    # This unit of work reads first: on MariaDB (REPEATABLE READ) its snapshot starts here.
    assert not Tag.objects.filter(name="rust").exists()
    with news.session():  # another request commits the row meanwhile
        theirs = Tag.objects.create(name="rust")
    # A plain read would still miss it on MariaDB; the insert then fails on the unique
    # name, and the locking read that follows sees the committed row.
    tag, created = Tag.objects.get_or_create(name="rust")
    assert not created
    assert tag.id == theirs.id


def test_a_refused_create_leaves_no_trace(news: Database) -> None:
    ann, python = User.objects.get(username="ann"), Tag.objects.get(name="python")
    assert len(ann.articles) == 3
    with pytest.raises(ModelValidationError, match="title"):
        Article.objects.create(title="", author=ann, tags=[python])
    assert len(ann.articles) == 3
    assert len(python.articles) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not in session" warning from a stray object
        sync_session().flush()
