"""annotate() and aggregate() with Count, Sum, Avg, Min and Max: same values and types on
every engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from newsmodels import Article, Collection, CollectionEntry, Comment, Tag, User, Vote

from kettle.db import Avg, Count, Database, FieldError, Max, Min, Q, Sum

START = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture
def news(db: Database) -> Iterator[Database]:
    """ann: Hot (3 up, 1 down, 2 tags), Warm (1 up); bob: Cold (no votes); carl: nothing."""
    with db.session():
        ann, bob, carl = (User.objects.create(username=n) for n in ("ann", "bob", "carl"))
        python, web = Tag.objects.create(name="python"), Tag.objects.create(name="web")
        hot = Article.objects.create(
            title="Hot",
            author=ann,
            score=10,
            rating=Decimal("4.25"),
            created=START,
            tags=[python, web],
        )
        warm = Article.objects.create(
            title="Warm",
            author=ann,
            score=5,
            rating=Decimal("3.50"),
            created=START + dt.timedelta(days=1),
            tags=[python],
        )
        Article.objects.create(
            title="Cold", author=bob, score=0, created=START + dt.timedelta(days=2)
        )
        for user, value in ((ann, 1), (bob, 1), (carl, 1), (carl, -1)):
            Vote.objects.create(article=hot, user=user, value=value)
        Vote.objects.create(article=warm, user=bob)
        first = Comment.objects.create(article=hot, text="first")
        for text in ("re 1", "re 2"):
            Comment.objects.create(article=hot, text=text, parent=first)
        best = Collection.objects.create(name="best")
        Collection.objects.create(name="empty")
        CollectionEntry.objects.create(collection=best, article=hot, position=1)
        CollectionEntry.objects.create(collection=best, article=warm, position=2)
    with db.session():
        yield db


def by_title(qs: object) -> dict[str, dict[str, object]]:
    return {a.title: a.annotations for a in qs}  # type: ignore[attr-defined]


def test_the_issue_example_shadows_the_relation(news: Database) -> None:
    top = Article.objects.annotate(votes=Count("votes")).filter(votes__gte=2).order_by("-votes")
    rows = list(top)
    assert [(a.title, a.annotations["votes"]) for a in rows] == [("Hot", 4)]
    # The name stays the relation on the object; the count is in .annotations.
    assert sorted(v.value for v in rows[0].votes) == [-1, 1, 1, 1]
    ordered = Article.objects.annotate(votes=Count("votes")).order_by("votes", "title")
    assert [(a.title, a.annotations["votes"]) for a in ordered] == [
        ("Cold", 0),
        ("Warm", 1),
        ("Hot", 4),
    ]
    assert list(top.values("title", "votes")) == [{"title": "Hot", "votes": 4}]
    # A lookup path through the relation still reaches the relation.
    shadowed = Article.objects.annotate(votes=Count("votes"))
    assert [a.title for a in shadowed.filter(votes__user__username="carl")] == ["Hot"]


def test_annotations_are_attributes_when_free(news: Database) -> None:
    hot = Article.objects.annotate(n_votes=Count("votes")).get(title="Hot")
    assert hot.n_votes == 4  # type: ignore[attr-defined]
    assert hot.annotations == {"n_votes": 4}
    # A name the class already has (a method here) stays the class's.
    saved = Article.objects.annotate(save=Count("votes")).get(title="Hot")
    assert callable(saved.save)
    assert saved.annotations["save"] == 4


def test_several_annotations_do_not_multiply_each_other(news: Database) -> None:
    qs = Article.objects.annotate(
        votes=Count("votes"), tag_count=Count("tags"), comments_n=Count("comments")
    )
    assert by_title(qs) == {
        "Hot": {"votes": 4, "tag_count": 2, "comments_n": 3},
        "Warm": {"votes": 1, "tag_count": 1, "comments_n": 0},
        "Cold": {"votes": 0, "tag_count": 0, "comments_n": 0},
    }


def test_count_with_filter_and_distinct(news: Database) -> None:
    qs = Article.objects.annotate(
        up=Count("votes", filter=Q(value=1)),
        down=Count("votes", filter=Q(value=-1)),
        by_carl=Count("votes", filter=Q(user__username="carl")),
        voters=Count("votes__user", distinct=True),
    )
    assert by_title(qs)["Hot"] == {"up": 3, "down": 1, "by_carl": 2, "voters": 3}
    assert by_title(qs)["Cold"] == {"up": 0, "down": 0, "by_carl": 0, "voters": 0}
    assert Article.objects.aggregate(voters=Count("votes__user", distinct=True)) == {"voters": 3}


def test_counts_over_every_kind_of_relation(news: Database) -> None:
    tags = {t.name: t.annotations["n"] for t in Tag.objects.annotate(n=Count("articles"))}
    assert tags == {"python": 2, "web": 1}
    users = {u.username: u.annotations["n"] for u in User.objects.annotate(n=Count("articles"))}
    assert users == {"ann": 2, "bob": 1, "carl": 0}
    collections = {c.name: c.annotations for c in Collection.objects.annotate(n=Count("articles"))}
    assert collections == {"best": {"n": 2}, "empty": {"n": 0}}
    # A relation to the same model (a comment's replies) counts the other rows.
    replies = {c.text: c.annotations["n"] for c in Comment.objects.annotate(n=Count("replies"))}
    assert replies == {"first": 2, "re 1": 0, "re 2": 0}
    parents = Comment.objects.annotate(n=Count("replies")).filter(n__gt=0)
    assert [c.text for c in parents] == ["first"]


def test_sum_avg_min_max_per_row_have_one_type_everywhere(news: Database) -> None:
    qs = User.objects.annotate(
        total=Sum("articles__score"),
        mean=Avg("articles__score"),
        low=Min("articles__score"),
        latest=Max("articles__created"),
        rating=Sum("articles__rating"),
        mean_rating=Avg("articles__rating"),
    ).order_by("username")
    ann, bob, carl = (u.annotations for u in qs)
    assert ann["total"] == 15
    assert type(ann["total"]) is int
    assert ann["mean"] == 7.5
    assert type(ann["mean"]) is float
    assert ann["low"] == 5
    assert type(ann["low"]) is int
    assert ann["latest"] == START + dt.timedelta(days=1)
    assert ann["latest"].tzinfo is not None
    assert ann["rating"] == Decimal("7.75")
    assert isinstance(ann["rating"], Decimal)
    assert isinstance(ann["mean_rating"], Decimal)
    assert ann["mean_rating"].quantize(Decimal("0.001")) == Decimal("3.875")
    assert bob["total"] == 0
    assert bob["rating"] is None
    assert carl == {
        "total": None,
        "mean": None,
        "low": None,
        "latest": None,
        "rating": None,
        "mean_rating": None,
    }


def test_filter_and_order_by_annotations(news: Database) -> None:
    qs = User.objects.annotate(total=Sum("articles__score"))
    assert [u.username for u in qs.filter(total__gte=1)] == ["ann"]
    assert [u.username for u in qs.exclude(total__gte=1).order_by("username")] == ["bob", "carl"]
    assert [u.username for u in qs.order_by("-total", "username")] == ["ann", "bob", "carl"]
    assert [u.username for u in qs.order_by("total", "username")] == ["carl", "bob", "ann"]
    assert qs.filter(total__gte="1").count() == 1
    assert qs.filter(Q(total__isnull=True) | Q(total=0)).count() == 2


def test_aggregate_over_the_matching_rows(news: Database) -> None:
    everything = Article.objects.aggregate(
        total=Sum("score"),
        mean=Avg("score"),
        low=Min("score"),
        high=Max("score"),
        first=Min("created"),
        rating=Sum("rating"),
        votes=Count("votes"),
        n=Count("id"),
    )
    assert everything == {
        "total": 15,
        "mean": 5.0,
        "low": 0,
        "high": 10,
        "first": START,
        "rating": Decimal("7.75"),
        "votes": 5,
        "n": 3,
    }
    assert type(everything["total"]) is int
    assert type(everything["mean"]) is float
    assert Article.objects.filter(author__username="ann").aggregate(
        total=Sum("score"), up=Count("votes", filter=Q(value=1))
    ) == {"total": 15, "up": 4}
    top = Article.objects.order_by("-score")[:2]
    assert top.aggregate(total=Sum("score"), n=Count("pk")) == {"total": 15, "n": 2}
    assert Article.objects.filter(score__gt=99).aggregate(
        total=Sum("score"), n=Count("id"), votes=Count("votes")
    ) == {"total": None, "n": 0, "votes": 0}
    positive = Article.objects.annotate(votes=Count("votes")).filter(votes__gte=1)
    assert positive.aggregate(total=Sum("score")) == {"total": 15}
    assert Article.objects.values("title").aggregate(n=Count("id")) == {"n": 3}


def test_bad_aggregates_are_field_errors(news: Database) -> None:
    with pytest.raises(FieldError, match=r"Count\('nope'\): Article has no field 'nope'"):
        Article.objects.annotate(n=Count("nope"))
    with pytest.raises(FieldError, match="Vote has no column 'weight'"):
        Article.objects.annotate(n=Sum("votes__weight"))
    with pytest.raises(FieldError, match="more than one relation"):
        Article.objects.annotate(n=Count("votes__user__username"))
    with pytest.raises(FieldError, match="needs a relation"):
        Article.objects.annotate(n=Sum("score"))
    with pytest.raises(FieldError, match="clashes"):
        Article.objects.annotate(score=Count("votes"))
    with pytest.raises(TypeError, match="Count, Sum"):
        Article.objects.annotate(n=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one"):
        Article.objects.aggregate()


def test_sliced_querysets_ordered_by_an_annotation(news: Database) -> None:
    top = Article.objects.annotate(votes=Count("votes")).order_by("-votes", "title")[:2]
    assert [a.title for a in top] == ["Hot", "Warm"]
    assert top.exists()
    assert top.count() == 2
    assert list(top.values_list("title", "votes")) == [("Hot", 4), ("Warm", 1)]
    assert sorted(a.title for a in Article.objects.filter(id__in=top)) == ["Hot", "Warm"]
    assert top.aggregate(total=Sum("score")) == {"total": 15}
    assert top.update(score=0) == 2
    assert sorted(Article.objects.values_list("title", "score")) == [
        ("Cold", 0),
        ("Hot", 0),
        ("Warm", 0),
    ]
    assert Article.objects.annotate(votes=Count("votes")).order_by("votes")[:1].delete() == 1
    assert sorted(Article.objects.values_list("title", flat=True)) == ["Hot", "Warm"]
