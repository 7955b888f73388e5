"""``Factory``: sequences, sub-factories, lazy values; build, create and batches."""

from __future__ import annotations

import asyncio

import pytest
from testingsite import KtAuthor, KtNote

from kettle import App
from kettle.db import Database
from kettle.testing import Factory, Lazy, Sequence, SubFactory


class AuthorFactory(Factory[KtAuthor]):
    model = KtAuthor
    name = Sequence(lambda n: f"author{n}")


class NoteFactory(Factory[KtNote]):
    model = KtNote
    text = Lazy(lambda values: f"a note by {values['author'].name}")
    author = SubFactory(AuthorFactory)


class ShortNoteFactory(NoteFactory):
    text = "short"


@pytest.fixture
def app(site: App) -> App:
    return site


def test_build_makes_unsaved_objects() -> None:
    note = NoteFactory.build()
    assert note.id is None
    assert note.author.id is None
    assert note.text == f"a note by {note.author.name}"
    first, second = AuthorFactory.build_batch(2)
    assert first.name != second.name


def test_arguments_replace_the_declared_values() -> None:
    author = AuthorFactory.build(name="ann")
    note = NoteFactory.build(author=author)
    assert (note.author, note.text) == (author, "a note by ann")
    assert ShortNoteFactory.build().text == "short"  # declarations are inherited


def test_create_saves_the_object_and_its_related_ones(db: Database) -> None:
    with db.session():
        note = NoteFactory.create()
        assert note.id is not None
        assert note.author.id is not None
        NoteFactory.create_batch(3, author=note.author)
        assert KtNote.objects.filter(author=note.author).count() == 4
        assert KtAuthor.objects.count() == 1


def test_acreate_saves_in_async_code(db: Database) -> None:
    async def scenario() -> int:
        async with db.async_session():
            await NoteFactory.acreate()
            await NoteFactory.acreate_batch(2)
            return await KtNote.objects.acount()

    assert asyncio.run(scenario()) == 3
