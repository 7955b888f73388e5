"""Lazy loads in async code fail with a message naming the relation to preload."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun
from newsmodels import Article, Tag, User
from sqlalchemy import exc as sa_exc

from kettle import App
from kettle.db import Database, RelationNotLoaded, atomic
from kettle.testing import TestClient


@pytest.fixture
def article_id(db: Database) -> int:
    with db.session():
        ann = User.objects.create(username="ann")
        article = Article.objects.create(title="Hello", author=ann)
        article.tags.append(Tag(name="news"))
        return int(article.id)


def _in_async_session(db: Database, work: Any) -> Any:
    async def run() -> Any:
        async with db.async_session() as session:
            return await work(session)

    return arun(db, run)


def test_to_one_relation_names_select_related(db: Database, article_id: int) -> None:
    async def work(session: Any) -> Any:
        article = await session.get(Article, article_id)
        with pytest.raises(RelationNotLoaded) as caught:
            article.author  # noqa: B018 - the attribute read is the test
        return caught.value

    error = _in_async_session(db, work)
    assert str(error) == (
        "Article.author was not loaded. In async code load it up front: "
        "Article.objects.select_related('author') (or prefetch_related)."
    )
    assert isinstance(error, sa_exc.MissingGreenlet)  # old except clauses still match


def test_collections_and_reverse_relations_name_prefetch_related(
    db: Database, article_id: int
) -> None:
    async def work(session: Any) -> list[str]:
        article = await session.get(Article, article_id)
        author = await session.get(User, article.author_id)
        messages = []
        for read in (lambda: article.tags, lambda: author.articles):
            with pytest.raises(RelationNotLoaded) as caught:
                read()
            messages.append(str(caught.value))
        return messages

    assert _in_async_session(db, work) == [
        "Article.tags was not loaded. In async code load it up front: "
        "Article.objects.prefetch_related('tags').",
        "User.articles was not loaded. In async code load it up front: "
        "User.objects.prefetch_related('articles').",
    ]


def test_preloaded_relations_read_fine_and_the_session_stays_usable(
    db: Database, article_id: int
) -> None:
    async def work(session: Any) -> tuple[str, list[str], int]:
        bare = await session.get(Article, article_id)
        with pytest.raises(RelationNotLoaded):
            bare.tags  # noqa: B018
        loaded = (
            await Article.objects.filter(id=article_id)
            .select_related("author")
            .prefetch_related("tags")
            .alist()
        )[0]
        return loaded.author.username, [t.name for t in loaded.tags], await User.objects.acount()

    assert _in_async_session(db, work) == ("ann", ["news"], 1)


def test_sync_code_keeps_lazy_loading(db: Database, article_id: int) -> None:
    with db.session() as session:
        article = session.get(Article, article_id)
        assert article is not None
        assert article.author.username == "ann"
        assert [t.name for t in article.tags] == ["news"]


def test_attributes_expired_by_a_rollback_say_to_refresh(db: Database, article_id: int) -> None:
    async def work(session: Any) -> tuple[str, str]:
        user = await session.scalar(sa.select(User))

        async def rename_then_fail() -> None:
            async with atomic():
                user.username = "bob"
                await session.flush()
                raise RuntimeError("undo")

        with pytest.raises(RuntimeError):
            await rename_then_fail()
        with pytest.raises(RelationNotLoaded) as caught:
            user.username  # noqa: B018 - expired by the rollback
        await user.arefresh()
        return str(caught.value), user.username

    message, name = _in_async_session(db, work)
    assert "User has attributes that are not loaded" in message
    assert "await obj.arefresh()" in message
    assert name == "ann"


def test_async_handler_gets_the_clear_error(
    app: App, db: Database, article_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/articles/<int:id>")
    async def show(id: int) -> dict[str, str]:
        article = await Article.objects.filter(id=id).alist()
        return {"author": article[0].author.username}

    @app.get("/articles/<int:id>/preloaded")
    async def show_preloaded(id: int) -> dict[str, str]:
        article = await Article.objects.filter(id=id).select_related("author").alist()
        return {"author": article[0].author.username}

    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        assert client.get(f"/articles/{article_id}").status_code == 500
        assert client.get(f"/articles/{article_id}/preloaded").json() == {"author": "ann"}
    assert "Article.objects.select_related('author')" in caplog.text
    assert "greenlet_spawn" not in caplog.text
