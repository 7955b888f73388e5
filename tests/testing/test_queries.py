"""``assert_num_queries`` and the ``queries`` fixture count the statements of sync and
async code, the test's and the app's, on every engine."""

from __future__ import annotations

import asyncio

import pytest
from testingsite import KtAuthor, KtNote

from kettle import App
from kettle.db import Database
from kettle.testing import TestClient, assert_num_queries, count_queries


@pytest.fixture
def app(site: App) -> App:
    return site


def test_counts_the_statements_of_test_code(db: Database) -> None:
    with db.session():
        with assert_num_queries(1):
            KtAuthor.objects.create(name="ann")
        with assert_num_queries(2):
            KtAuthor.objects.count()
            KtAuthor.objects.filter(name="ann").first()


def test_counts_async_code(db: Database) -> None:
    async def scenario() -> None:
        async with db.async_session():
            with assert_num_queries(1):
                await KtAuthor.objects.acount()

    asyncio.run(scenario())


def test_counts_what_the_app_runs_for_a_request(db: Database, client: TestClient) -> None:
    with db.session():
        ann = KtAuthor.objects.create(name="ann")
        for text in ("one", "two", "three"):
            KtNote.objects.create(text=text, author=ann)
    client.get("/notes")  # the session cookie, so the next request loads no new session
    with assert_num_queries(1):  # notes and authors in one query (select_related)
        assert client.get("/notes").status_code == 200
    with assert_num_queries(1):
        assert client.get("/async-notes").json() == {"count": 3}


def test_a_wrong_count_fails_naming_the_statements(db: Database) -> None:
    def two_queries() -> None:
        with assert_num_queries(1):
            KtAuthor.objects.count()
            KtAuthor.objects.filter(name="bob").first()

    with db.session(), pytest.raises(AssertionError) as failure:
        two_queries()
    message = str(failure.value)
    assert message.startswith("Expected 1 SQL statement, but 2 ran:\n1. SELECT count(")
    assert "\n2. SELECT kt_author.name, kt_author.id FROM kt_author WHERE" in message


def test_savepoints_are_not_counted(db: Database) -> None:
    from kettle.db import atomic

    with db.session(), count_queries() as queries, atomic():
        KtAuthor.objects.create(name="ann")
    assert len(queries) == 1, queries.report()


def test_the_fixture(db: Database, queries: object) -> None:
    assert queries is assert_num_queries
    with db.session(), assert_num_queries(0):
        KtAuthor(name="not saved")
