"""Fixtures: ``dump(db)`` and ``load(db, data)`` round-trip a news site on every engine.

The models here live in a MetaData of their own (``own_tables``), so they can declare
natural keys and every kind of value without touching the other tests' tables.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import own_tables

from kettle.db import Database, Model, fields
from kettle.db.fixtures import FixtureError, dump, load, load_files
from kettle.db.models import NAMING_CONVENTION


class Kind(enum.Enum):
    LINK = "link"
    TEXT = "text"


class Fixtured(Model):
    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class FxGroup(Fixtured):
    name: str = fields.string(max_length=40, unique=True)

    class Meta:
        natural_key = ("name",)


class FxUser(Fixtured):
    username: str = fields.string(max_length=40, unique=True)
    joined: dt.datetime = fields.datetime(auto_now_add=True)
    groups: list[FxGroup] = fields.many_to_many(FxGroup, related_name="users")

    class Meta:
        natural_key = ("username",)


class FxTag(Fixtured):
    label: str = fields.string(max_length=30)


class FxArticle(Fixtured):
    title: str = fields.string(max_length=200)
    kind: Kind = fields.enum(Kind, default=Kind.TEXT)
    rating: Decimal | None = fields.decimal(6, 3, null=True)
    day: dt.date | None = fields.date(null=True)
    created: dt.datetime = fields.datetime(auto_now_add=True)
    extra: Any = fields.json(null=True)
    token: uuid.UUID | None = fields.uuid(null=True)
    score: float = fields.float(default=0.0)
    author: FxUser = fields.foreign_key(FxUser, related_name="articles")
    tags: list[FxTag] = fields.many_to_many(FxTag, related_name="articles")


class FxComment(Fixtured):
    article: FxArticle = fields.foreign_key(FxArticle, related_name="comments")
    author: FxUser | None = fields.foreign_key(
        FxUser, related_name="comments", null=True, on_delete=fields.SET_NULL
    )
    parent: FxComment | None = fields.foreign_key(
        "FxComment", related_name="replies", null=True, on_delete=fields.CASCADE
    )
    body: str = fields.text()


MODELS = [FxGroup, FxUser, FxTag, FxArticle, FxComment]
MOMENT = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)


@pytest.fixture
def fx(db: Database) -> Any:
    with own_tables(Fixtured.metadata, db):
        yield db


def seed(db: Database) -> None:
    with db.session():
        editor, reader = FxGroup(name="editor"), FxGroup(name="reader")
        ann = FxUser(username="ann", groups=[editor, reader], joined=MOMENT)
        bob = FxUser(username="bob", groups=[reader], joined=MOMENT)
        python, tea = FxTag(label="python"), FxTag(label="tea")
        article = FxArticle(
            title="Kettles through the ages",
            kind=Kind.LINK,
            rating=Decimal("12.340"),
            day=dt.date(1865, 4, 9),
            created=MOMENT,
            extra={"sources": [1, 2.5, None, "x"], "nested": {"ok": True}},
            token=uuid.UUID("12345678-1234-5678-1234-567812345678"),
            score=0.1,
            author=ann,
            tags=[python, tea],
        )
        first = FxComment(article=article, author=bob, body="First!")
        reply = FxComment(article=article, author=ann, parent=first, body="Welcome.")
        orphan = FxComment(article=article, author=None, parent=reply, body="[deleted]")
        for obj in (editor, reader, ann, bob, python, tea, article, first, reply, orphan):
            obj.save()


def test_dump_writes_natural_keys_ids_and_exact_values(fx: Database) -> None:
    seed(fx)
    data = dump(fx, MODELS)
    assert [item["model"] for item in data] == [
        "fx_group", "fx_group", "fx_user", "fx_user", "fx_tag", "fx_tag",
        "fx_article", "fx_comment", "fx_comment", "fx_comment",
    ]  # fmt: skip
    ann = data[2]
    assert "pk" not in ann  # identified by its natural key
    assert ann["fields"] == {
        "username": "ann",
        "joined": "2024-02-29T23:59:58.123456+00:00",
        "groups": [["editor"], ["reader"]],
    }
    article = data[6]["fields"]
    assert article["author"] == ["ann"]
    assert article["tags"] == [data[4]["pk"], data[5]["pk"]]
    assert article["kind"] == "link"
    assert article["rating"] == "12.340"
    assert article["day"] == "1865-04-09"
    assert article["extra"] == {"sources": [1, 2.5, None, "x"], "nested": {"ok": True}}
    assert article["token"] == "12345678-1234-5678-1234-567812345678"
    first, reply, orphan = (item["fields"] for item in data[7:])
    assert first["parent"] is None
    assert reply["parent"] == data[7]["pk"]
    assert orphan["author"] is None
    json.dumps(data)  # plain JSON throughout


def test_a_dump_loads_into_an_empty_database_as_it_was(fx: Database) -> None:
    seed(fx)
    before = dump(fx, MODELS)
    Fixtured.metadata.drop_all(fx.sync_engine)
    Fixtured.metadata.create_all(fx.sync_engine)
    # Out of order on purpose: replies before their parents, articles before authors.
    assert load(fx, list(reversed(before))) == len(before)
    assert dump(fx, MODELS) == before
    with fx.session():
        article = FxArticle.objects.get()
        assert article.rating == Decimal("12.340")
        assert article.kind is Kind.LINK
        assert article.created == MOMENT
        assert article.day == dt.date(1865, 4, 9)
        assert {g.name for g in FxUser.objects.get(username="ann").groups} == {"editor", "reader"}
        # New rows still get fresh ids after rows were loaded with theirs (PostgreSQL's
        # sequences are moved past them).
        FxTag(label="new").save()


def test_loading_again_updates_rows_instead_of_adding_them(fx: Database) -> None:
    seed(fx)
    data = dump(fx, MODELS)
    data[2]["fields"]["groups"] = [["editor"]]
    data[6]["fields"]["title"] = "Renamed"
    load(fx, data)
    assert dump(fx, MODELS) == data
    with fx.session():
        assert FxUser.objects.count() == 2
        assert FxArticle.objects.count() == 1


def test_natural_keys_resolve_to_rows_already_in_the_database(fx: Database) -> None:
    seed(fx)
    load(fx, [{"model": "fx_user", "fields": {"username": "cy", "groups": [["editor"]]}}])
    with fx.session():
        cy = FxUser.objects.get(username="cy")
        assert [g.name for g in cy.groups] == ["editor"]


def _error(db: Database, data: Any) -> FixtureError:
    with pytest.raises(FixtureError) as caught:
        load(db, data, source="news.json")
    return caught.value


def _counts(db: Database) -> tuple[int, int]:
    with db.session():
        return FxUser.objects.count(), FxGroup.objects.count()


def test_bad_input_names_file_object_and_field_and_loads_nothing(fx: Database) -> None:
    good = {"model": "fx_group", "fields": {"name": "admin"}}
    cases = [
        ({"model": "story", "fields": {}}, "object 2: unknown model 'story'"),
        (
            {"model": "fx_tag", "fields": {}},
            "object 2 (fx_tag), field 'label': This field is required",
        ),
        ({"model": "FxGroup", "fields": {}}, "the table name 'fx_group'"),
        (
            {"model": "fx_group", "fields": {"title": "x"}},
            "object 2 (fx_group), field 'title': no such field; fx_group has: name",
        ),
        (
            {"model": "fx_user", "fields": {"username": "dee", "groups": [["nobody"]]}},
            "object 2 (fx_user), field 'groups': no fx_group has the natural key ['nobody']",
        ),
        (
            {"model": "fx_article", "fields": {"title": "t", "author": 999, "day": "x"}},
            "field 'day': 'x' is not a date (YYYY-MM-DD)",
        ),
        (
            {"model": "fx_article", "fields": {"title": "t", "author": 999}},
            "field 'author': no fx_user has the id 999",
        ),
        (
            {"model": "fx_article", "fields": {"title": "t", "kind": "poem", "author": 1}},
            "field 'kind': 'poem' is not one of link, text",
        ),
        ({"model": "fx_tag", "fields": {"label": 7}}, "field 'label': expected text, got 7"),
        ({"fields": {}}, 'object 2: an object needs "model"'),
    ]
    for bad, message in cases:
        error = _error(fx, [good, bad])
        assert str(error).startswith("news.json, "), error
        assert message in str(error), (message, str(error))
        assert _counts(fx) == (0, 0)
    assert "a list of objects" in str(_error(fx, {"model": "fx_group"}))


def test_load_files_names_a_malformed_file(fx: Database, tmp_path: Path) -> None:
    good, bad = tmp_path / "groups.json", tmp_path / "broken.json"
    good.write_text(json.dumps([{"model": "fx_group", "fields": {"name": "admin"}}]))
    bad.write_text('[{"model": "fx_group",\n "fields": {"name": }}]')
    with pytest.raises(FixtureError, match=r"broken.json: not valid JSON \(line 2, column 21\)"):
        load_files(fx, [good, bad])
    assert _counts(fx) == (0, 0)
    assert load_files(fx, [good]) == 1


def test_several_files_load_as_one_and_may_refer_to_each_other(
    fx: Database, tmp_path: Path
) -> None:
    users, groups = tmp_path / "users.json", tmp_path / "groups.json"
    ann = {"model": "fx_user", "fields": {"username": "ann", "groups": [["admin"]]}}
    users.write_text(json.dumps([ann]))
    groups.write_text(json.dumps([{"model": "fx_group", "fields": {"name": "admin"}}]))
    assert load_files(fx, [users, groups]) == 2
    assert _counts(fx) == (1, 1)


def test_dump_of_every_model_skips_tables_the_database_lacks(db: Database) -> None:
    import newsmodels

    with db.session():
        newsmodels.Tag(name="kettle").save()
    data = dump(db)
    assert {"model": "tag", "pk": 1, "fields": {"name": "kettle"}} in [
        {**item, "pk": 1} for item in data if item["model"] == "tag"
    ]
    assert not [item for item in data if item["model"].startswith("fx_")]


def test_a_natural_key_must_name_columns() -> None:
    class FxBrokenKey(Fixtured):
        title: str = fields.string(max_length=10)
        author: FxUser = fields.foreign_key(FxUser, related_name="broken_keys")

        class Meta:
            natural_key = ("author",)

    with pytest.raises(FixtureError, match=r"FxBrokenKey.Meta.natural_key names 'author'"):
        dump(Database(url="sqlite://"), [FxBrokenKey])
