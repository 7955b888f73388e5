"""Field options: lengths, nulls, defaults, uniqueness, indexes, choices, validators and
timestamps, with validation that names the fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from newsmodels import Article, Comment, Profile, Status, Tag, User, Vote

from kettle.db import Database, ModelValidationError, fields, sync_session
from kettle.db.fields import FieldValidationError, info_of, validate_email, validate_url


@pytest.fixture
def ann(db: Database) -> Iterator[User]:
    with db.session():
        User.objects.create(username="ann")
    with db.session():
        yield User.objects.get(username="ann")


def errors_of(obj: Any) -> dict[str, list[str]]:
    with pytest.raises(ModelValidationError) as caught:
        obj.save()
    return caught.value.errors


def test_validation_names_every_bad_field(ann: User) -> None:
    article = Article(
        title="x" * 201,
        url="javascript:alert(1)",
        status="archived",
        score=2**31,
        rating=Decimal("1234.567"),
    )
    errors = errors_of(article)
    assert set(errors) == {"title", "url", "status", "score", "rating", "author"}
    assert errors["title"] == ["Ensure this value has at most 200 characters (it has 201)."]
    assert errors["url"] == ["Enter a valid http:// or https:// URL."]
    assert "'archived' is not one of the choices: draft, published." in errors["status"]
    assert errors["score"] == ["Ensure this value is between -2147483648 and 2147483647."]
    assert errors["rating"] == [
        "Ensure there are at most 2 decimal places.",
        "Ensure there are at most 3 digits before the decimal point.",
    ]
    assert errors["author"] == ["This field is required."]
    with pytest.raises(ModelValidationError, match=r"^Article is not valid: title: Ensure"):
        article.full_clean()
    assert Article.objects.count() == 0  # nothing reached the database


def test_required_and_blank(ann: User) -> None:
    assert errors_of(Tag()) == {"name": ["This field is required."]}
    assert errors_of(Tag(name="")) == {"name": ["This field is required."]}
    assert errors_of(Comment(text="")) == {
        "article": ["This field is required."],
        "text": ["This field is required."],
    }
    # A field with a default, or null=True, may be left empty.
    article = Article(title="T", author=ann, body="", url=None)
    article.save()
    assert (article.body, article.url, article.score, article.status) == (
        "",
        None,
        0,
        Status.PUBLISHED,
    )
    assert Profile(user=ann).validation_errors() == {}
    # Setting a required relation to None is caught before the database sees it.
    article.author = None  # type: ignore[assignment]
    assert errors_of(article) == {"author": ["This field is required."]}
    sync_session().rollback()


def test_choices_and_enums(ann: User) -> None:
    article = Article.objects.create(title="T", author=ann)
    with pytest.raises(ModelValidationError) as caught:
        Vote.objects.create(article=article, user=ann, value=5)
    assert caught.value.errors == {"value": ["5 is not one of the choices: 1, -1."]}
    Vote.objects.create(article=article, user=ann, value=-1)
    draft = Article.objects.create(title="D", author=ann, status="draft")
    sync_session().expire(draft)
    assert draft.status is Status.DRAFT
    assert info_of(Article.__table__.c.status).choices == (  # type: ignore[union-attr]
        ("draft", "Draft"),
        ("published", "Published"),
    )


def test_url_and_email_validators(ann: User) -> None:
    assert errors_of(User(username="x", email="not an address")) == {
        "email": ["Enter a valid e-mail address."]
    }
    User.objects.create(username="y", email="y@example.org")
    for bad in ("javascript:alert(1)", "data:text/html,hi", "/relative", "ftp://x.org"):
        with pytest.raises(FieldValidationError):
            validate_url(bad)
    validate_url("https://kettle.dev/docs?q=1")
    with pytest.raises(FieldValidationError):
        validate_email("a@b")
    validate_email("ann@example.org")


def test_custom_validators() -> None:
    def even(value: int) -> None:
        if value % 2:
            raise FieldValidationError("Enter an even number.")

    column = sa.Column(
        "n", sa.Integer, info={"kettle": fields.FieldInfo("integer", validators=(even,))}
    )
    from kettle.db.models import check_value

    info = info_of(column)
    assert info is not None
    assert check_value(column, info, 3) == ["Enter an even number."]
    assert check_value(column, info, 4) == []
    assert check_value(column, info, "4") == ["Enter a whole number, not '4'."]


def test_decimals_keep_their_digits(ann: User) -> None:
    Article.objects.create(title="T", author=ann, rating=Decimal("999.99"))
    Article.objects.create(title="U", author=ann, rating=Decimal("0.05"))
    assert errors_of(Article(title="V", author=ann, rating=Decimal("1000"))) == {
        "rating": ["Ensure there are at most 3 digits before the decimal point."]
    }
    sync_session().expire_all()
    ratings = sorted(a.rating for a in Article.objects.all())  # type: ignore[type-var]
    assert ratings == [Decimal("0.05"), Decimal("999.99")]


def test_unique_is_enforced_by_the_database(ann: User) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        User.objects.create(username="ann")
    sync_session().rollback()


def test_indexes_exist(db: Database) -> None:
    inspector = sa.inspect(db.sync_engine)
    article = {tuple(ix["column_names"]) for ix in inspector.get_indexes("article")}
    assert ("author_id", "created") in article  # Meta.indexes
    vote = {tuple(ix["column_names"]) for ix in inspector.get_indexes("vote")}
    assert {("article_id",), ("user_id",)} <= vote  # foreign keys are indexed
    uniques = inspector.get_unique_constraints("user") + [
        ix for ix in inspector.get_indexes("user") if ix.get("unique")
    ]
    assert any(u["column_names"] == ["username"] for u in uniques)


def test_timestamps(ann: User) -> None:
    article = Article.objects.create(title="T", author=ann)
    created, updated = article.created, article.updated
    assert created.tzinfo is not None
    assert abs(created - updated) < dt.timedelta(seconds=1)
    article.save()  # auto_now moves on every save, even with nothing else changed
    assert article.updated > updated
    assert article.created == created
    before = article.updated
    Article.objects.filter(id=article.id).update(score=3)
    assert article.updated > before


def test_datetimes_are_stored_in_utc_and_read_back_aware(db: Database) -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    moment = dt.datetime(2024, 3, 5, 19, 30, 15, 123456, tzinfo=tokyo)
    with db.session():
        ann = User.objects.create(username="ann")
        Article.objects.create(title="aware", author=ann, created=moment)
        Article.objects.create(title="naive", author=ann, created=dt.datetime(2024, 3, 5, 10, 30))
    with db.session():
        aware = Article.objects.get(title="aware").created
        naive = Article.objects.get(title="naive").created
        assert aware == moment
        assert aware.utcoffset() == dt.timedelta(0)
        assert aware.microsecond == 123456  # MariaDB keeps microseconds too
        assert naive == dt.datetime(2024, 3, 5, 10, 30, tzinfo=dt.UTC)  # naive means UTC
        raw = sync_session().scalar(sa.text("SELECT created FROM article WHERE title = 'aware'"))
        assert str(raw).startswith("2024-03-05 10:30:15.123456")


def test_relation_options_are_checked() -> None:
    with pytest.raises(ValueError, match="SET_NULL needs null=True"):
        fields.foreign_key(User, on_delete=fields.SET_NULL)
    with pytest.raises(ValueError, match="on_delete='DELETE' is not known"):
        fields.foreign_key(User, on_delete="DELETE")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive max_length"):
        fields.string(max_length=0)
    column = Article.__table__.c.author_id
    info = info_of(column)
    assert info is not None
    assert (info.relation, info.on_delete) == ("author", "CASCADE")
