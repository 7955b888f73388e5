"""``if qs:`` and ``{% if questions %}``: a QuerySet's truth value, on every engine.

Sync code and templates fetch the rows once and keep them for the loop that follows, as
Django does; async code gets an error that shows the async way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbhelpers import arun
from newsmodels import Article, User

from kettle import render
from kettle.db import Database
from kettle.testing import TestClient

PAGE = """\
{% if articles %}<ul>{% for a in articles %}<li>{{ a.title }}</li>{% endfor %}</ul>\
{% else %}<p>No articles yet.</p>{% endif %}"""


@contextlib.contextmanager
def selects(db: Database) -> Iterator[list[str]]:
    """The SELECTs the blocking engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(db.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def two(db: Database) -> Database:
    with db.session():
        ann = User.objects.create(username="ann")
        Article.objects.create(title="Alpha", author=ann, score=3)
        Article.objects.create(title="Beta", author=ann, score=7)
    return db


def test_sync_code_may_ask_a_queryset_for_its_truth_value(two: Database) -> None:
    with two.session():
        high = Article.objects.filter(score__gt=5)
        with selects(two) as seen:
            assert high
            assert [a.title for a in high] == ["Beta"]  # the rows fetched for `if`
            assert not Article.objects.filter(score__gt=100)
        assert len(seen) == 2
        # A query built from it is a new query, not the rows fetched above.
        assert [a.title for a in high.filter(score__lt=5)] == []


def test_the_model_manager_keeps_no_rows(two: Database) -> None:
    with two.session():
        assert Article.objects
        assert User.objects
        User.objects.create(username="bob")
        assert sorted(u.username for u in User.objects) == ["ann", "bob"]


def test_rows_kept_by_if_last_only_for_their_unit_of_work(two: Database) -> None:
    # A QuerySet kept at module level, asked again in the next request, queries again.
    articles = Article.objects.order_by("title")
    with two.session():
        assert articles
        Article.objects.create(title="Gamma", author=User.objects.get(username="ann"))
    with two.session():
        assert [a.title for a in articles] == ["Alpha", "Beta", "Gamma"]


def test_if_questions_in_a_template_renders(two: Database, tmp_path: Path) -> None:
    app = two.app
    assert app is not None
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(PAGE)

    @app.get("/")
    def index() -> Any:
        return render("index.html", articles=Article.objects.order_by("title"))

    @app.get("/none")
    def none() -> Any:
        return render("index.html", articles=Article.objects.filter(score=-1))

    with TestClient(app) as client, selects(two) as seen:
        page = client.get("/")
        empty = client.get("/none")
    assert page.status_code == 200, page.text
    assert page.text == "<ul><li>Alpha</li><li>Beta</li></ul>"
    assert len([s for s in seen if "FROM article" in s]) == 2  # one per page, not two
    assert empty.status_code == 200, empty.text
    assert empty.text == "<p>No articles yet.</p>"


def test_async_code_is_told_the_async_way(two: Database) -> None:
    async def work() -> None:
        async with two.async_session():
            qs = Article.objects.all()
            with pytest.raises(TypeError) as raised:
                bool(qs)  # what `if qs:` asks
            message = str(raised.value)
            assert "await qs.aexists()" in message
            assert "await qs.alist()" in message
            assert await qs.aexists()

    arun(two, work)
