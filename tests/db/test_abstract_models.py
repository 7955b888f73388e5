"""Abstract models: their fields, links and ``Meta`` options, inherited as in Django, with
columns of its own for every concrete model."""

from __future__ import annotations

import datetime as dt
import enum
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbhelpers import own_tables

from kettle.db import Database, Model, ModelValidationError, fields
from kettle.db.fields import info_of, now
from kettle.db.migrations import Migrations
from kettle.db.models import NAMING_CONVENTION


class Visibility(enum.Enum):
    DRAFT = "draft"
    PUBLIC = "public"


class Blog(Model):
    """Models of these tests only: their tables live in a MetaData of their own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class BlogAuthor(Blog):
    name: str = fields.string(max_length=40)


class BlogTag(Blog):
    name: str = fields.string(max_length=30, unique=True)


class Timestamped(Blog):
    __abstract__ = True
    created: dt.datetime = fields.datetime(auto_now_add=True)
    updated: dt.datetime = fields.datetime(auto_now=True)
    rank: int = fields.integer(default=0)
    slug: str = fields.string(max_length=50, default="")

    class Meta:
        ordering = ["-created"]
        indexes = ["created"]
        constraints = [sa.CheckConstraint("rank >= 0", name="rank_positive")]


class Authored(Timestamped):
    """Abstract on abstract: adds links and an enum, and narrows ``slug``."""

    __abstract__ = True
    slug: str = fields.string(max_length=20, default="")
    visibility: Visibility = fields.enum(Visibility, default=Visibility.DRAFT)
    author: BlogAuthor = fields.foreign_key(BlogAuthor, related_name="%(class)s_set")
    tags: list[BlogTag] = fields.many_to_many(BlogTag, related_name="%(class)s_items")


class BlogPost(Authored):
    title: str = fields.string(max_length=100)


class BlogPage(Authored):
    path: str = fields.string(max_length=100)

    class Meta:  # a Meta of its own: none of Timestamped's
        ordering = ["path"]


class BlogNote(Timestamped):
    text: str = fields.text()
    updated = None  # as in Django: this model has no "updated"

    class Meta(Timestamped.Meta):  # Timestamped's, with another ordering
        ordering = ["created"]


CONCRETE = (BlogPost, BlogPage, BlogNote)


@pytest.fixture
def blog(db: Database) -> Iterator[Database]:
    with own_tables(Blog.metadata, db):
        yield db


def test_each_concrete_model_gets_columns_of_its_own() -> None:
    for model in CONCRETE:
        assert {"id", "created", "rank", "slug"} <= set(model.__table__.c.keys())
        assert model.__table__.c.created.table is model.__table__
        assert model.__table__ is Blog.metadata.tables[model.__tablename__]
    assert BlogPost.__table__.c.created is not BlogPage.__table__.c.created
    declared = Timestamped.__dict__["created"].column
    assert all(model.__table__.c.created is not declared for model in CONCRETE)
    assert getattr(declared, "table", None) is None  # the declaration itself stays unused
    assert "updated" not in BlogNote.__table__.c
    # The nearest declaration wins: Authored narrows Timestamped's slug.
    assert info_of(BlogPost.__table__.c.slug).max_length == 20
    assert info_of(BlogNote.__table__.c.slug).max_length == 50
    assert info_of(BlogPost.__table__.c.updated).auto_now


def test_links_of_an_abstract_model_are_made_for_each_model() -> None:
    post_fk = next(iter(BlogPost.__table__.c.author_id.foreign_keys))
    page_fk = next(iter(BlogPage.__table__.c.author_id.foreign_keys))
    assert post_fk is not page_fk
    assert post_fk.constraint.name == "fk_blog_post_author_id_blog_author"
    assert page_fk.constraint.name == "fk_blog_page_author_id_blog_author"
    assert {"blog_post_tags", "blog_page_tags"} <= set(Blog.metadata.tables)
    sa.orm.configure_mappers()
    assert BlogPost.author.property.mapper.class_ is BlogAuthor
    assert BlogAuthor.blogpost_set.property.mapper.class_ is BlogPost
    assert BlogAuthor.blogpage_set.property.mapper.class_ is BlogPage
    assert BlogTag.blogpage_items.property.mapper.class_ is BlogPage


def test_meta_of_an_abstract_model_is_inherited_unless_the_model_has_its_own() -> None:
    assert BlogPost._kettle_ordering == ("-created",)
    assert BlogPage._kettle_ordering == ("path",)
    assert BlogNote._kettle_ordering == ("created",)
    checks = {c.name for c in BlogNote.__table__.constraints if isinstance(c, sa.CheckConstraint)}
    assert "ck_blog_note_rank_positive" in checks


def test_inherited_fields_validate_and_stamp(blog: Database) -> None:
    with blog.session():
        ann = BlogAuthor.objects.create(name="ann")
        with pytest.raises(ModelValidationError) as caught:
            BlogPost(title="T", slug="x" * 21, created="yesterday").save()
        assert set(caught.value.errors) == {"slug", "created", "author"}
        assert caught.value.errors["slug"] == [
            "Ensure this value has at most 20 characters (it has 21)."
        ]
        post = BlogPost.objects.create(title="T", author=ann)
        created, updated = post.created, post.updated
        assert created.tzinfo is not None
        post.save()  # auto_now moves on every save
        assert post.updated > updated
        assert post.created == created
        before = post.updated
        BlogPost.objects.filter(id=post.id).update(rank=3)
        assert post.updated > before
        BlogNote.objects.create(text="no updated column here").save()


def test_inherited_fields_query_order_and_link(blog: Database) -> None:
    week_ago = now() - dt.timedelta(days=7)
    with blog.session():
        ann, bob = BlogAuthor.objects.create(name="ann"), BlogAuthor.objects.create(name="bob")
        python = BlogTag.objects.create(name="python")
        BlogPost.objects.create(title="old", author=ann, created=week_ago - dt.timedelta(days=1))
        BlogPost.objects.create(title="new", author=ann, tags=[python])
        BlogPost.objects.create(title="newer", author=bob, created=now() + dt.timedelta(hours=1))
        BlogPage.objects.create(path="/b", author=ann, tags=[python])
        BlogPage.objects.create(path="/a", author=bob)
        BlogNote.objects.create(text="first", created=week_ago)
        BlogNote.objects.create(text="second")
    with blog.session():
        recent = BlogPost.objects.filter(created__gte=week_ago)
        assert [p.title for p in recent] == ["newer", "new"]  # Meta.ordering: -created
        assert [p.path for p in BlogPage.objects.all()] == ["/a", "/b"]  # its own Meta
        assert [n.text for n in BlogNote.objects.all()] == ["first", "second"]
        assert [p.title for p in BlogPost.objects.filter(author__name="ann")] == ["new", "old"]
        assert BlogPost.objects.filter(tags__name="python").count() == 1
        ann = BlogAuthor.objects.get(name="ann")
        assert sorted(p.title for p in ann.blogpost_set) == ["new", "old"]
        assert [p.path for p in ann.blogpage_set] == ["/b"]
        assert [p.path for p in BlogTag.objects.get(name="python").blogpage_items] == ["/b"]
        ann.delete()  # on_delete=CASCADE, on each model's own foreign key
        assert [p.title for p in BlogPost.objects.all()] == ["newer"]
        assert [p.path for p in BlogPage.objects.all()] == ["/a"]


def test_inherited_meta_options_and_checks_reach_the_database(blog: Database) -> None:
    inspector = sa.inspect(blog.sync_engine)
    for table in ("blog_post", "blog_note"):
        assert f"ix_{table}_created" in {ix["name"] for ix in inspector.get_indexes(table)}
    assert "ix_blog_page_created" not in {ix["name"] for ix in inspector.get_indexes("blog_page")}
    with blog.session():
        ann_id = BlogAuthor.objects.create(name="ann").id
        BlogPage.objects.create(path="/", author_id=ann_id, rank=-1)  # its Meta has no CHECK
    # NOTE: MariaDB reports a failed CHECK as error 4025, an OperationalError in PyMySQL.
    refused = (sa.exc.IntegrityError, sa.exc.OperationalError)
    for model, values in (
        (BlogPost, {"title": "T", "author_id": ann_id}),
        (BlogNote, {"text": "T"}),
    ):
        with pytest.raises(refused) as caught, blog.session():
            model.objects.create(rank=-1, **values)
        assert f"ck_{model.__tablename__}_rank_positive" in str(caught.value)
    # Each model's enum column has a CHECK of its own (past the Enum type's own check).
    secret = sa.literal("secret", sa.String())
    for model, values in ((BlogPost, {"title": "T"}), (BlogPage, {"path": "/x"})):
        insert = sa.insert(model.__table__).values(author_id=ann_id, visibility=secret, **values)
        with pytest.raises(refused) as caught, blog.sync_engine.begin() as connection:
            connection.execute(insert)
        assert f"ck_{model.__tablename__}_visibility_enum" in str(caught.value)


def test_migrations_see_inherited_columns(db_url: str, tmp_path: Path) -> None:
    database = Database(url=db_url)
    database.metadata = Blog.metadata  # these models only, not the suite's others
    drop_every_table(database)
    try:
        migrations = Migrations(database, tmp_path / "migrations", stdout=io.StringIO())
        revision = migrations.makemigrations("blog")
        assert revision is not None
        source = revision.read_text()
        post = source.split("op.create_table('blog_post',")[1].split(")\n    )\n")[0]
        for column in ("created", "updated", "rank", "slug", "visibility", "author_id"):
            assert f"sa.Column('{column}'," in post
        # Each enum CHECK once: the model's own (type-bound) is not written again.
        assert source.count("'ck_blog_post_visibility_enum'") == 1
        migrations.migrate()
        assert migrations.check() == []
        columns = {c["name"] for c in sa.inspect(database.sync_engine).get_columns("blog_page")}
        assert {"created", "updated", "rank", "slug", "visibility", "author_id"} <= columns
    finally:
        drop_every_table(database)
        database.dispose()


def drop_every_table(database: Database) -> None:
    with database.sync_engine.begin() as connection:
        tables = sa.MetaData()
        tables.reflect(connection)
        tables.drop_all(connection)


# --- mistakes, reported where they are made ------------------------------------------------
def test_a_fixed_related_name_cannot_be_inherited_twice() -> None:
    class Scratch(Model):
        __abstract__ = True
        metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    class ScratchOwner(Scratch):
        name: str = fields.string(max_length=10)

    class Owned(Scratch):
        __abstract__ = True
        owner: ScratchOwner = fields.foreign_key(ScratchOwner, related_name="things")

    class ScratchCup(Owned):
        pass

    with pytest.raises(TypeError) as caught:

        class ScratchPot(Owned):
            pass

    message = str(caught.value)
    assert message.startswith(
        "ScratchPot.owner: related_name='things', inherited from the abstract model Owned, "
        "already names ScratchOwner.things for ScratchCup.owner."
    )
    assert 'related_name="%(class)s_things"' in message


def test_abstract_meta_refuses_what_concrete_models_cannot_share() -> None:
    with pytest.raises(TypeError, match=r"Meta\.table_name of the abstract model Shared"):

        class Shared(Model):
            __abstract__ = True

            class Meta:
                table_name = "shared"

    with pytest.raises(TypeError, match=r"Meta\.indexes of the abstract model Indexed"):

        class Indexed(Model):
            __abstract__ = True

            class Meta:
                indexes = [sa.Index("ix_name", "name")]


def test_related_name_placeholders_are_checked() -> None:
    class Other(Model):
        __abstract__ = True
        metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    class OtherOwner(Other):
        name: str = fields.string(max_length=10)

    with pytest.raises(ValueError, match=r"may use %\(class\)s .* and no other placeholder"):

        class OtherThing(Other):
            owner: OtherOwner = fields.foreign_key(OtherOwner, related_name="%(app_label)s_x")
