"""Lookups, Q, F and traversal across relations, with the same meaning on every engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from newsmodels import (
    Article,
    Collection,
    CollectionEntry,
    Comment,
    Profile,
    Status,
    Tag,
    User,
    Vote,
)

from kettle.db import Database, F, FieldError, Q, sync_session
from kettle.exceptions import BadRequest

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def news(db: Database) -> Iterator[Database]:
    """Four articles by two authors, with tags, votes, comments and a collection."""
    with db.session():
        ann = User.objects.create(username="ann", email="ann@example.org", is_editor=True)
        bob = User.objects.create(username="bob")
        Profile.objects.create(user=ann, bio="Writes about kettles")
        python, web = Tag.objects.create(name="python"), Tag.objects.create(name="web")
        tips = Article.objects.create(
            title="Kettle Tips",
            url="https://kettle.dev/tips",
            score=5,
            rating=Decimal("4.50"),
            created=at(2024, 3, 5, 10, 30),
            author=ann,
            tags=[python, web],
        )
        internals = Article.objects.create(
            title="kettle internals",
            score=1,
            status=Status.DRAFT,
            created=at(2024, 3, 6, 23, 15),
            author=ann,
            tags=[python],
        )
        Article.objects.create(
            title="Ünïcode Handling",
            url="http://example.org/u",
            score=3,
            created=at(2023, 12, 31, 8, 0),
            author=bob,
        )
        Article.objects.create(
            title="100% Pure_Python/3", score=0, created=at(2024, 1, 15, 12, 0), author=bob
        )
        Vote.objects.create(article=tips, user=bob)
        Vote.objects.create(article=internals, user=ann, value=-1)
        root = Comment.objects.create(article=tips, author=bob, text="Nice")
        Comment.objects.create(article=tips, author=ann, parent=root, text="Thanks")
        best = Collection.objects.create(name="Best of")
        CollectionEntry.objects.create(collection=best, article=internals, position=1)
    with db.session():
        yield db


def titles(qs: object) -> set[str]:
    return {a.title for a in qs}  # type: ignore[attr-defined]


def dialect() -> str:
    return sync_session().get_bind().dialect.name


def test_exact_is_case_sensitive_and_iexact_is_not(news: Database) -> None:
    assert titles(Article.objects.filter(title="Kettle Tips")) == {"Kettle Tips"}
    assert titles(Article.objects.filter(title__exact="kettle tips")) == set()
    assert titles(Article.objects.filter(title__iexact="KETTLE TIPS")) == {"Kettle Tips"}
    # A trailing space is a different title (MariaDB's collation would ignore it).
    assert titles(Article.objects.filter(title="Kettle Tips ")) == set()
    assert titles(Article.objects.filter(url=None)) == {"kettle internals", "100% Pure_Python/3"}


def test_contains_startswith_endswith_are_case_sensitive(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(title__contains="ettle")) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(title__contains="Kettle")) == {"Kettle Tips"}
    assert titles(a.filter(title__icontains="KETTLE")) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(title__startswith="kettle")) == {"kettle internals"}
    assert titles(a.filter(title__istartswith="kettle")) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(title__endswith="tips")) == set()
    assert titles(a.filter(title__endswith="Tips")) == {"Kettle Tips"}
    assert titles(a.filter(title__iendswith="TIPS")) == {"Kettle Tips"}


def test_non_ascii_text(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(title__contains="Ünï")) == {"Ünïcode Handling"}
    assert titles(a.filter(title__contains="ünï")) == set()
    assert titles(a.filter(title__startswith="Ü")) == {"Ünïcode Handling"}
    # Accents count on every engine (MariaDB's collation alone would say "u" == "ü").
    assert titles(a.filter(title__icontains="unicode")) == set()
    assert titles(a.filter(title__iexact="unicode handling")) == set()
    # The same letters in the same case match case-insensitively everywhere.
    assert titles(a.filter(title__icontains="Ünïcode")) == {"Ünïcode Handling"}
    # SQLite's own lower() folds ASCII only; Kettle registers a Unicode-aware one.
    assert titles(a.filter(title__icontains="üNÏCODE")) == {"Ünïcode Handling"}
    assert titles(a.filter(title__iexact="ÜNÏCODE HANDLING")) == {"Ünïcode Handling"}


def test_like_wildcards_in_values_are_literal(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(title__contains="%")) == {"100% Pure_Python/3"}
    assert titles(a.filter(title__contains="_")) == {"100% Pure_Python/3"}
    assert titles(a.filter(title__contains="/")) == {"100% Pure_Python/3"}
    assert titles(a.filter(title__icontains="0% pure_")) == {"100% Pure_Python/3"}
    assert titles(a.filter(title__startswith="%")) == set()


def test_in_takes_lists_and_querysets(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(title__in=["Kettle Tips", "nope"])) == {"Kettle Tips"}
    assert titles(a.filter(title__in=[])) == set()
    assert titles(a.filter(author__in=User.objects.filter(username="bob"))) == {
        "Ünïcode Handling",
        "100% Pure_Python/3",
    }
    top_ids = a.order_by("-score").values_list("id", flat=True)[:2]
    assert titles(a.filter(id__in=top_ids)) == {"Kettle Tips", "Ünïcode Handling"}
    names = Tag.objects.filter(name="web").values_list("name", flat=True)
    assert {t.name for t in Tag.objects.filter(name__in=names)} == {"web"}
    with pytest.raises(FieldError, match="list of values"):
        a.filter(title__in="Kettle Tips")
    with pytest.raises(FieldError, match="one field"):
        list(a.filter(id__in=a.values_list("id", "title")))


def test_comparisons_and_ranges(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(score__gt=3)) == {"Kettle Tips"}
    assert titles(a.filter(score__gte=3)) == {"Kettle Tips", "Ünïcode Handling"}
    assert titles(a.filter(score__lt=1)) == {"100% Pure_Python/3"}
    assert titles(a.filter(score__lte=1)) == {"kettle internals", "100% Pure_Python/3"}
    assert titles(a.filter(score__range=(1, 3))) == {"kettle internals", "Ünïcode Handling"}
    assert titles(a.filter(created__range=(at(2024, 1, 1), at(2024, 3, 5, 10, 30)))) == {
        "Kettle Tips",
        "100% Pure_Python/3",
    }
    assert titles(a.filter(rating__gte=Decimal("4.5"))) == {"Kettle Tips"}
    with pytest.raises(FieldError, match=r"\(low, high\)"):
        a.filter(score__range=(1, 2, 3))
    with pytest.raises(FieldError, match="isnull=True"):
        a.filter(score__gt=None)


def test_isnull(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(url__isnull=True)) == {"kettle internals", "100% Pure_Python/3"}
    assert titles(a.filter(url__isnull=False)) == {"Kettle Tips", "Ünïcode Handling"}
    # From a query string "false" means False, not a truthy string.
    assert titles(a.filter(url__isnull="false")) == {"Kettle Tips", "Ünïcode Handling"}
    with pytest.raises(FieldError, match="True or False"):
        a.filter(url__isnull="maybe")


def test_date_parts_are_taken_in_utc(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(created__year=2023)) == {"Ünïcode Handling"}
    assert titles(a.filter(created__year__gte=2024, created__month=3)) == {
        "Kettle Tips",
        "kettle internals",
    }
    assert titles(a.filter(created__day=5)) == {"Kettle Tips"}
    assert titles(a.filter(created__hour=23)) == {"kettle internals"}
    assert titles(a.filter(created__minute=30)) == {"Kettle Tips"}
    assert titles(a.filter(created__date=dt.date(2024, 3, 6))) == {"kettle internals"}
    assert titles(a.filter(created__date__gte=dt.date(2024, 3, 5))) == {
        "Kettle Tips",
        "kettle internals",
    }
    # A value in another time zone is the same instant.
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert titles(a.filter(created=dt.datetime(2024, 3, 5, 19, 30, tzinfo=tokyo))) == {
        "Kettle Tips"
    }
    with pytest.raises(FieldError, match="dates and times only"):
        a.filter(title__year=2024)


def test_filters_follow_relations(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(author__username="ann")) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(votes__user__username="bob")) == {"Kettle Tips"}
    assert titles(a.filter(tags__name="python")) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(tags__name__in=["python", "web"])) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(author__profile__bio__icontains="kettles")) == {
        "Kettle Tips",
        "kettle internals",
    }
    assert titles(a.filter(collections__name="Best of")) == {"kettle internals"}
    assert {u.username for u in User.objects.filter(profile__bio__contains="kettle")} == {"ann"}
    assert {u.username for u in User.objects.filter(articles__created__year=2023)} == {"bob"}
    replies = Comment.objects.filter(parent__text="Nice")
    assert [c.text for c in replies] == ["Thanks"]
    assert [c.text for c in Comment.objects.filter(replies__author__username="ann")] == ["Nice"]
    # A to-many filter never duplicates rows (EXISTS, not JOIN).
    assert Article.objects.filter(tags__name__in=["python", "web"]).count() == 2


def test_lookups_on_relations_themselves(news: Database) -> None:
    ann = User.objects.get(username="ann")
    python = Tag.objects.get(name="python")
    a = Article.objects
    assert titles(a.filter(author=ann)) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(author=ann.id)) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(author__in=[ann])) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(tags=python)) == {"Kettle Tips", "kettle internals"}
    assert titles(a.filter(tags__isnull=True)) == {"Ünïcode Handling", "100% Pure_Python/3"}
    assert {u.username for u in User.objects.filter(profile__isnull=True)} == {"bob"}
    assert {u.username for u in User.objects.filter(profile__isnull=False)} == {"ann"}
    with pytest.raises(ValueError, match="not saved yet"):
        a.filter(author=User(username="ghost"))
    with pytest.raises(FieldError, match="takes a User"):
        a.filter(author=python)


def test_exclude_is_the_complement_of_filter(news: Database) -> None:
    a = Article.objects
    everything = titles(a.all())
    for lookups in (
        {"url": "https://kettle.dev/tips"},
        {"url__contains": "kettle"},
        {"rating__gt": 1},
        {"tags__name": "web"},
        {"author__profile__bio__contains": "kettle"},
    ):
        kept, dropped = titles(a.exclude(**lookups)), titles(a.filter(**lookups))
        assert kept | dropped == everything, lookups
        assert not kept & dropped, lookups
    # NULL urls are "not equal to" any url, as Django has it.
    assert titles(a.exclude(url="https://kettle.dev/tips")) == everything - {"Kettle Tips"}


def test_q_objects_combine(news: Database) -> None:
    a = Article.objects
    ann_or_high = a.filter(Q(author__username="ann") | Q(score__gte=3))
    assert titles(ann_or_high) == {"Kettle Tips", "kettle internals", "Ünïcode Handling"}
    both = a.filter(Q(author__username="ann") & Q(score__gte=3))
    assert titles(both) == {"Kettle Tips"}
    assert titles(a.filter(~Q(author__username="ann"))) == {
        "Ünïcode Handling",
        "100% Pure_Python/3",
    }
    nested = a.filter(Q(tags__name="python") & ~(Q(score=5) | Q(url__isnull=False)))
    assert titles(nested) == {"kettle internals"}
    assert titles(a.filter(Q(score=0), title__contains="Pure")) == {"100% Pure_Python/3"}
    assert titles(a.filter(~Q(url="https://kettle.dev/tips"))) == titles(
        a.exclude(url="https://kettle.dev/tips")
    )
    with pytest.raises(TypeError, match="Q objects"):
        Q("score=5")  # type: ignore[arg-type]


def test_f_compares_columns(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(score__gt=F("rating"))) == {"Kettle Tips"}
    assert titles(a.filter(score=F("score"))) == titles(a.all())
    assert titles(a.filter(score__gte=F("score") + 1)) == set()
    assert titles(a.filter(score__lt=10 - F("score"))) == titles(a.all()) - {"Kettle Tips"}
    with pytest.raises(FieldError, match="no field 'nope'"):
        a.filter(score=F("nope"))


def test_unknown_names_are_400s_listing_the_choices(news: Database) -> None:
    with pytest.raises(FieldError) as caught:
        Article.objects.filter(password="x")
    assert isinstance(caught.value, BadRequest)
    assert caught.value.status == 400
    assert "Article has no field 'password'" in caught.value.detail
    assert "title" in caught.value.detail
    assert "author" in caught.value.detail
    with pytest.raises(FieldError, match="Unsupported lookup 'like'"):
        Article.objects.filter(title__like="x")
    with pytest.raises(FieldError, match="User has no field 'pasword'"):
        Article.objects.filter(author__pasword="x")
    with pytest.raises(FieldError, match="Nothing can follow"):
        Article.objects.filter(author__exact__in=[1])
    with pytest.raises(FieldError, match="Article has no field 'secret'"):
        Article.objects.values("secret")
    with pytest.raises(FieldError, match="Article has no field 'password'"):
        Article.objects.order_by("-password")


def test_malicious_values_stay_bound_parameters(news: Database) -> None:
    evil = "x' OR 1=1 --"
    a = Article.objects
    assert a.filter(title=evil).count() == 0
    assert a.filter(title__icontains=evil).count() == 0
    assert a.filter(title__in=[evil, "Kettle Tips"]).count() == 1
    assert a.filter(author__username=evil).count() == 0
    qs = a.filter(title=evil, author__username__startswith=evil)
    compiled = qs.statement.compile(dialect=sync_session().get_bind().dialect)
    assert evil not in str(compiled)
    assert evil in compiled.params.values()
    assert any(str(v).startswith(evil) for v in compiled.params.values() if v != evil)
    with pytest.raises(FieldError):
        a.order_by(evil)
    with pytest.raises(FieldError):
        a.filter(**{evil: 1})
    with pytest.raises(FieldError):
        a.values(evil)
    # The table is untouched.
    assert a.count() == 4


def test_text_values_from_query_strings_are_converted(news: Database) -> None:
    a = Article.objects
    assert titles(a.filter(score__gte="3")) == {"Kettle Tips", "Ünïcode Handling"}
    assert titles(a.filter(status="draft")) == {"kettle internals"}
    assert titles(a.filter(status__in=["draft", "DRAFT"])) == {"kettle internals"}
    assert titles(a.filter(rating="4.5")) == {"Kettle Tips"}
    assert titles(a.filter(created__gte="2024-03-06T00:00:00+00:00")) == {"kettle internals"}
    assert titles(a.filter(created__date="2024-03-05")) == {"Kettle Tips"}
    assert {u.username for u in User.objects.filter(is_editor="true")} == {"ann"}
    with pytest.raises(FieldError, match="'abc' is not a valid Integer"):
        a.filter(score__gte="abc")
    with pytest.raises(FieldError, match="not a valid"):
        a.filter(status="archived")
    with pytest.raises(FieldError, match="not a valid"):
        a.filter(created__year="last")
