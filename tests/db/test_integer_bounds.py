"""Integers a column cannot hold never reach the driver: a lookup with one is resolved as
the column's range implies (``=``/``in`` match nothing, ``<`` above the range matches
every non-NULL row, ...), on every engine, sync and async, prepared ``get`` included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun, own_tables
from newsmodels import Article, Comment, User, Vote
from sqlalchemy.orm import mapped_column

from kettle import App
from kettle.db import Database, DoesNotExist, Model, Q, _statements, fields
from kettle.db.models import NAMING_CONVENTION
from kettle.testing import TestClient

HUGE = 10**20  # beyond 64 bits: no engine holds it
INT32_PAST = 2**31  # one past a 32-bit INTEGER; SQLite stores it, the others cannot
INT16_PAST = 2**15


class Gauges(Model):
    """Models of these tests only: their tables live in a MetaData of their own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Gauge(Gauges):
    # Plain SQLAlchemy columns: no validation on write, so SQLite stores what it can.
    small: int = mapped_column(sa.SmallInteger(), default=0)
    normal: int | None = mapped_column(sa.Integer(), nullable=True)
    big: int = fields.big_integer(default=0)


@pytest.fixture
def rows(db: Database) -> dict[str, Any]:
    """ann wrote "One" (score 1) and "Two" (score 2); bob voted for One; a comment on One."""
    with db.session():
        ann = User.objects.create(username="ann")
        bob = User.objects.create(username="bob")
        one = Article.objects.create(title="One", author=ann, score=1)
        two = Article.objects.create(title="Two", author=ann, score=2)
        Vote.objects.create(article=one, user=bob)
        Comment.objects.create(article=one, author=bob, text="hi")
    return {"ann": ann.id, "one": one.id, "two": two.id}


@pytest.fixture
def gauges(db: Database) -> Iterator[Database]:
    with own_tables(Gauges.metadata, db):
        yield db


def titles(qs: Any) -> list[str]:
    return sorted(a.title for a in qs)


@pytest.mark.parametrize("value", [HUGE, -HUGE, str(HUGE), 2**63, -(2**63) - 1])
def test_equality_and_in_beyond_64_bits_match_nothing(
    db: Database, rows: dict[str, Any], value: Any
) -> None:
    with db.session():
        assert titles(Article.objects.filter(id=value)) == []
        assert titles(Article.objects.filter(pk=value)) == []
        assert titles(Article.objects.filter(id__in=[rows["one"], value])) == ["One"]
        assert titles(Article.objects.filter(id__in=[value])) == []
        assert titles(Article.objects.exclude(id=value)) == ["One", "Two"]
        assert titles(Article.objects.exclude(id__in=[value, rows["two"]])) == ["One"]
        assert titles(Article.objects.filter(Q(id=value) | Q(title="Two"))) == ["Two"]
        assert titles(Article.objects.filter(~Q(id=value))) == ["One", "Two"]
        assert Article.objects.filter(id=value).count() == 0
        assert Article.objects.filter(id=value).exists() is False
        assert Article.objects.filter(id=value).update(score=9) == 0
        assert Article.objects.filter(id=value).delete() == 0
        assert Article.objects.count() == 2


def test_related_lookups_beyond_64_bits_match_nothing(db: Database, rows: dict[str, Any]) -> None:
    with db.session():
        assert titles(Article.objects.filter(author=HUGE)) == []
        assert titles(Article.objects.filter(author__id=HUGE)) == []
        assert titles(Article.objects.filter(author_id=HUGE)) == []
        assert titles(Article.objects.filter(votes__user__id=HUGE)) == []
        assert titles(Article.objects.filter(votes=HUGE)) == []
        assert titles(Article.objects.exclude(comments__id=HUGE)) == ["One", "Two"]
        assert titles(Article.objects.filter(author__id__in=[HUGE, rows["ann"]])) == ["One", "Two"]


def test_order_lookups_are_resolved_by_the_bound(db: Database, rows: dict[str, Any]) -> None:
    with db.session():
        assert titles(Article.objects.filter(id__lt=HUGE)) == ["One", "Two"]
        assert titles(Article.objects.filter(id__lte=HUGE)) == ["One", "Two"]
        assert titles(Article.objects.filter(id__gt=HUGE)) == []
        assert titles(Article.objects.filter(id__gte=HUGE)) == []
        assert titles(Article.objects.filter(id__gt=-HUGE)) == ["One", "Two"]
        assert titles(Article.objects.filter(id__lte=-HUGE)) == []
        assert titles(Article.objects.filter(id__range=(-HUGE, HUGE))) == ["One", "Two"]
        assert titles(Article.objects.filter(id__range=(rows["two"], HUGE))) == ["Two"]
        assert titles(Article.objects.filter(id__range=(HUGE, HUGE + 1))) == []
        assert titles(Article.objects.filter(score__lt=str(HUGE))) == ["One", "Two"]


def test_null_rows_do_not_match_an_open_bound(db: Database, rows: dict[str, Any]) -> None:
    with db.session():
        one = Comment.objects.get(text="hi")
        Comment.objects.create(article_id=rows["one"], parent=one, text="reply")
        # parent_id is NULL for "hi": "less than a huge number" is not true of NULL.
        assert [c.text for c in Comment.objects.filter(parent_id__lt=HUGE)] == ["reply"]
        assert [c.text for c in Comment.objects.filter(parent_id__gt=-HUGE)] == ["reply"]
        # exclude keeps NULL rows, as it does for any value.
        assert sorted(c.text for c in Comment.objects.exclude(parent_id=HUGE)) == ["hi", "reply"]


def test_get_raises_does_not_exist_on_the_prepared_path_too(
    db: Database, rows: dict[str, Any]
) -> None:
    assert _statements.get_by_equality(Article.objects, {"id": HUGE}) is None
    with db.session():
        for lookups in (
            {"id": HUGE},
            {"pk": str(HUGE)},
            {"id": -HUGE},
            {"title": "One", "id": HUGE},
        ):
            with pytest.raises(DoesNotExist):
                Article.objects.get(**lookups)
        with pytest.raises(DoesNotExist):
            Article.objects.get(Q(id=HUGE))
        assert Article.objects.get(id=rows["one"]).title == "One"


def test_async_queries_resolve_the_bound_too(db: Database, rows: dict[str, Any]) -> None:
    async def work() -> list[Any]:
        async with db.async_session():
            with pytest.raises(DoesNotExist):
                await Article.objects.aget(id=HUGE)
            with pytest.raises(DoesNotExist):
                await Article.objects.aget(Q(id=-HUGE))
            return [
                await Article.objects.filter(id=HUGE).acount(),
                await Article.objects.filter(id__in=[HUGE]).aexists(),
                await Article.objects.filter(id=HUGE).aupdate(score=3),
                await Article.objects.filter(id=HUGE).adelete(),
                titles(await Article.objects.filter(id__lt=HUGE).alist()),
                await Article.objects.filter(author__id=HUGE).afirst(),
            ]

    assert arun(db, work) == [0, False, 0, 0, ["One", "Two"], None]


def test_an_int_path_parameter_beyond_the_column_is_a_404(
    app: App, db: Database, rows: dict[str, Any]
) -> None:
    @app.get("/articles/<int:id>")
    async def show(id: int) -> dict[str, Any]:
        return {"title": (await Article.objects.aget(id=id)).title}

    @app.get("/sync/<int:id>")
    def show_sync(id: int) -> dict[str, Any]:
        return {"votes": Vote.objects.filter(article_id=id).count()}

    with TestClient(app) as client:
        assert client.get(f"/articles/{rows['one']}").json() == {"title": "One"}
        assert client.get(f"/articles/{HUGE}").status_code == 404
        assert client.get(f"/articles/{'9' * 40}").status_code == 404
        assert client.get(f"/sync/{HUGE}").json() == {"votes": 0}


def test_ranges_follow_the_column_type_on_each_engine(gauges: Database, db_url: str) -> None:
    sqlite = db_url.startswith("sqlite")
    with gauges.session():
        Gauge.objects.create(small=1, normal=1, big=1)
        Gauge.objects.create(small=2, normal=None, big=2)
        if sqlite:  # SQLite stores every integer in 64 bits, whatever the declared type
            Gauge.objects.create(small=INT16_PAST, normal=INT32_PAST, big=3)
    stored = 1 if sqlite else 0
    with gauges.session():
        assert Gauge.objects.filter(small=INT16_PAST).count() == stored
        assert Gauge.objects.filter(normal=INT32_PAST).count() == stored
        assert Gauge.objects.filter(normal__in=[1, INT32_PAST]).count() == 1 + stored
        assert Gauge.objects.filter(normal__gte=INT32_PAST).count() == stored
        assert Gauge.objects.filter(normal__lt=INT32_PAST).count() == 1  # NULL is no match
        assert Gauge.objects.filter(small__lt=INT16_PAST).count() == 2
        assert Gauge.objects.filter(small__gt=-INT16_PAST - 1).count() == 2 + stored
        assert Gauge.objects.filter(small__lt=-INT16_PAST - 1).count() == 0
        assert Gauge.objects.exclude(normal=INT32_PAST).count() == 2
        assert Gauge.objects.filter(big=INT32_PAST).count() == 0  # in range: compared
        assert Gauge.objects.filter(big=HUGE).count() == 0
        # The same shape of statement, with a value in range again, is compared as usual.
        assert Gauge.objects.filter(normal=1).count() == 1
        assert Gauge.objects.filter(small=INT16_PAST + 1).count() == 0
        assert Gauge.objects.filter(small=1).count() == 1

    async def work() -> list[int]:
        async with gauges.async_session():
            return [
                await Gauge.objects.filter(normal=INT32_PAST).acount(),
                await Gauge.objects.filter(small__in=[INT16_PAST, 2]).acount(),
                await Gauge.objects.filter(normal=1).acount(),
            ]

    assert arun(gauges, work) == [stored, 1 + stored, 1]


def test_slices_beyond_64_bits_are_empty_and_pages_404(db: Database, rows: dict[str, Any]) -> None:
    from kettle.db import Paginator
    from kettle.exceptions import HTTPException

    with db.session():
        assert list(Article.objects.all()[HUGE : HUGE + 5]) == []
        assert titles(Article.objects.order_by("title")[1:HUGE]) == ["Two"]
        assert Article.objects.all()[HUGE:].count() == 0
        assert Article.objects.all()[2**63 - 1 :].exists() is False
        with pytest.raises(IndexError):
            Article.objects.all()[HUGE]
        for number in (HUGE, str(HUGE), "²", "٣", " 1"):
            with pytest.raises(HTTPException) as missing:
                Paginator(Article.objects.all(), per_page=1).page(number)
            assert missing.value.status == 404


def test_text_holding_nul_is_a_field_error_on_every_engine(
    db: Database, rows: dict[str, Any]
) -> None:
    from kettle.db import FieldError

    with db.session():
        for lookups in (
            {"title": "One\x00"},
            {"title__icontains": "\x00"},
            {"title__in": ["One", "\x00"]},
            {"author__username": "ann\x00"},
        ):
            with pytest.raises(FieldError, match="NUL"):
                list(Article.objects.filter(**lookups))
        with pytest.raises(FieldError, match="NUL"):
            User.objects.get(username="ann\x00")
        assert titles(Article.objects.filter(title="One")) == ["One"]
