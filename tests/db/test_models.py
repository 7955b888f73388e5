"""Models: real SQLAlchemy mapped classes, Meta options, relations and what deletes do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dbhelpers import own_tables
from newsmodels import Article, Collection, CollectionEntry, Comment, Profile, Tag, User, Vote

from kettle.db import Database, Model, ProtectedError, fields, sync_session
from kettle.db.models import NAMING_CONVENTION


class Library(Model):
    """Models of these tests only: their tables live in a MetaData of their own."""

    __abstract__ = True
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class LibShelf(Library):
    name: str = fields.string(max_length=40)
    position: int = fields.integer(default=0)

    class Meta:
        table_name = "library_shelf"
        ordering = ["name", "-position"]
        indexes = [("name", "-position"), "position"]
        constraints = [
            sa.CheckConstraint("position >= 0", name="position_positive"),
            sa.UniqueConstraint("name", "position"),
        ]


class LibBook(Library):
    # By class name, defined earlier with its own table name: the FK finds that table.
    shelf: LibShelf = fields.foreign_key(
        "LibShelf", related_name="books", on_delete=fields.RESTRICT
    )
    title: str = fields.string(max_length=80)


class LibReader(Library):
    name: str = fields.string(max_length=40)
    following: list[LibReader] = fields.many_to_many("LibReader", related_name="followers")


@pytest.fixture
def library(db: Database) -> Iterator[Database]:
    with own_tables(Library.metadata, db):
        yield db


@pytest.fixture
def news(db: Database) -> Iterator[Database]:
    """ann wrote Hot (tagged, voted, commented, in a collection) and Cold; bob commented."""
    with db.session():
        ann = User.objects.create(username="ann")
        bob = User.objects.create(username="bob")
        Profile.objects.create(user=ann, bio="hi")
        python = Tag.objects.create(name="python")
        hot = Article.objects.create(title="Hot", author=ann, tags=[python])
        Article.objects.create(title="Cold", author=ann)
        mine = Article.objects.create(title="Bob's", author=bob, tags=[python])
        Vote.objects.create(article=hot, user=bob)
        Vote.objects.create(article=mine, user=ann)
        root = Comment.objects.create(article=hot, author=bob, text="root")
        Comment.objects.create(article=hot, author=ann, parent=root, text="reply")
        Comment.objects.create(article=mine, author=ann, text="ann on bob's")
    with db.session():
        yield db


def test_models_are_sqlalchemy_mapped_classes(news: Database) -> None:
    session = sync_session()
    stmt = sa.select(Article).join(Article.author).where(User.username == "ann")
    assert sorted(a.title for a in session.scalars(stmt)) == ["Cold", "Hot"]
    mapper = sa.inspect(Article)
    assert {"author", "tags", "votes", "comments", "collections", "entries"} <= set(
        mapper.relationships.keys()
    )
    assert Article.__table__.name == "article"
    assert Article.__table__.c.author_id.foreign_keys
    ann = User.objects.get(username="ann")
    assert sorted(a.title for a in ann.articles) == ["Cold", "Hot"]
    assert ann.profile.bio == "hi"
    assert ann.profile.user is ann
    reply = Comment.objects.get(text="reply")
    assert reply.parent.text == "root"
    assert [c.text for c in reply.parent.replies] == ["reply"]
    assert repr(ann) == f"<User {ann.id}>"
    assert repr(User(username="x")) == "<User (unsaved)>"


def test_meta_options(library: Database) -> None:
    assert LibShelf.__table__.name == "library_shelf"
    inspector = sa.inspect(library.sync_engine)
    indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("library_shelf")}
    assert indexes["ix_library_shelf_name_position"] == ["name", "position"]
    assert indexes["ix_library_shelf_position"] == ["position"]
    foreign = inspector.get_foreign_keys("lib_book")
    assert [(fk["referred_table"], fk["constrained_columns"]) for fk in foreign] == [
        ("library_shelf", ["shelf_id"])
    ]
    with library.session():
        LibShelf.objects.bulk_create(
            [LibShelf(name="b", position=1), LibShelf(name="a", position=1), LibShelf(name="a")]
        )
        assert [(s.name, s.position) for s in LibShelf.objects.all()] == [
            ("a", 1),
            ("a", 0),
            ("b", 1),
        ]
    with pytest.raises(sa.exc.IntegrityError), library.session():
        LibShelf.objects.create(name="a", position=1)  # UniqueConstraint
    # CheckConstraint. NOTE: MariaDB reports it as error 4025, which PyMySQL maps to
    # OperationalError rather than IntegrityError.
    refused = (sa.exc.IntegrityError, sa.exc.OperationalError)
    with pytest.raises(refused) as caught, library.session():
        LibShelf.objects.create(name="c", position=-1)
    assert "position_positive" in str(caught.value)


def test_meta_indexes_must_name_columns() -> None:
    with pytest.raises(ValueError, match="'nope', which is not a column"):

        class LibBroken(Library):
            name: str = fields.string(max_length=10)

            class Meta:
                indexes = [("name", "nope")]


def test_deleting_a_user_cascades_as_declared(news: Database) -> None:
    User.objects.get(username="ann").delete()
    assert [a.title for a in Article.objects.all()] == ["Bob's"]  # CASCADE
    assert Profile.objects.count() == 0
    assert Vote.objects.count() == 0  # her vote, and the vote on her article
    # Her comment on bob's article stays, with no author (SET_NULL).
    assert [(c.text, c.author_id) for c in Comment.objects.all()] == [("ann on bob's", None)]
    assert Tag.objects.count() == 1
    assert sync_session().scalar(sa.text("SELECT count(*) FROM article_tags")) == 1


def test_cascades_work_with_children_already_loaded(news: Database) -> None:
    ann = User.objects.get(username="ann")
    assert len(ann.articles) == 2
    assert ann.profile is not None
    assert len(ann.votes) == 1
    hot = Article.objects.get(title="Hot")
    assert len(hot.comments) == 2
    assert len(hot.tags) == 1
    ann.delete()
    assert User.objects.count() == 1
    assert Article.objects.count() == 1
    assert Comment.objects.get(text="ann on bob's").author_id is None


def test_protect_refuses_with_a_clear_error(news: Database) -> None:
    hot = Article.objects.get(title="Hot")
    entry = CollectionEntry.objects.create(
        collection=Collection.objects.create(name="best"), article=hot
    )
    with pytest.raises(ProtectedError) as caught:
        hot.delete()
    assert caught.value.status == 409
    assert caught.value.links == ["CollectionEntry.article (PROTECT)"]
    assert "Cannot delete <Article" in caught.value.detail
    assert Article.objects.filter(title="Hot").exists()
    # Deleting her user would cascade to the article: refused too, saying through what.
    with pytest.raises(ProtectedError, match=r"CollectionEntry.article \(PROTECT\) via Article"):
        User.objects.get(username="ann").delete()
    assert User.objects.filter(username="ann").exists()
    entry.delete()
    hot.delete()
    assert not Article.objects.filter(title="Hot").exists()
    assert Comment.objects.filter(article_id=hot.id).count() == 0


def test_restrict_refuses_at_the_database(library: Database) -> None:
    with library.session():
        shelf = LibShelf.objects.create(name="top")
        LibBook.objects.create(shelf=shelf, title="Dune")
    with library.session():
        shelf = LibShelf.objects.get(name="top")
        with pytest.raises(ProtectedError, match=r"LibBook.shelf \(RESTRICT\)"):
            shelf.delete()
        with pytest.raises(ProtectedError):
            LibShelf.objects.all().delete()
        LibBook.objects.all().delete()
        shelf.delete()
        assert LibShelf.objects.count() == 0


def test_many_to_many(news: Database) -> None:
    hot, cold = Article.objects.get(title="Hot"), Article.objects.get(title="Cold")
    web = Tag.objects.create(name="web")
    cold.tags.append(web)
    hot.tags.append(web)
    cold.save()
    assert sorted(a.title for a in web.articles) == ["Cold", "Hot"]
    hot.tags.remove(web)
    hot.save()
    sync_session().expire_all()
    assert [a.title for a in Article.objects.filter(tags__name="web")] == ["Cold"]
    web.delete()  # the links go, the articles stay
    assert Article.objects.count() == 3
    assert Article.objects.get(title="Cold").tags == []


def test_many_to_many_through_a_model(news: Database) -> None:
    best = Collection.objects.create(name="best")
    hot, cold = Article.objects.get(title="Hot"), Article.objects.get(title="Cold")
    CollectionEntry.objects.create(collection=best, article=cold, position=2)
    CollectionEntry.objects.create(collection=best, article=hot, position=1)
    sync_session().expire_all()
    assert sorted(a.title for a in best.articles) == ["Cold", "Hot"]
    assert [c.name for c in hot.collections] == ["best"]
    ordered = CollectionEntry.objects.filter(collection=best).order_by("position")
    assert [e.article.title for e in ordered] == ["Hot", "Cold"]
    best.delete()  # entries cascade with their collection
    assert CollectionEntry.objects.count() == 0
    assert Article.objects.count() == 3


def test_many_to_many_to_the_same_model(library: Database) -> None:
    with library.session():
        ann, bob, cy = (LibReader.objects.create(name=n) for n in ("ann", "bob", "cy"))
        ann.following.extend([bob, cy])
        bob.following.append(cy)
        ann.save()
    with library.session():
        cy = LibReader.objects.get(name="cy")
        assert sorted(r.name for r in cy.followers) == ["ann", "bob"]
        assert [r.name for r in LibReader.objects.filter(following__name="bob")] == ["ann"]
        columns = set(LibReader.metadata.tables["lib_reader_following"].c.keys())
        assert columns == {"from_lib_reader_id", "to_lib_reader_id"}


def test_save_refresh_and_delete(news: Database) -> None:
    tag = Tag(name="new")
    tag.save()
    assert tag.id is not None
    tag.name = "renamed"
    tag.save()
    Tag.objects.filter(id=tag.id).update(name="changed elsewhere")
    sync_session().expire(tag)
    tag.refresh()
    assert tag.name == "changed elsewhere"
    tag.delete()
    assert not Tag.objects.filter(id=tag.id).exists()
