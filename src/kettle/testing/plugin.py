"""Kettle's pytest plugin (loaded automatically): ``KETTLE_ENV=testing`` and fixtures.

Define an ``app`` fixture and use ``client`` or ``async_client``; ``db`` gives the test
a clean database (``kettle.testing.database``), ``queries`` counts SQL statements and
``mailoutbox`` is the mail sent (``kettle.mail.outbox``, emptied before each test) and
``task_queue`` the tasks enqueued (``kettle.tasks.testing.collecting``)::

    @pytest.fixture
    def app():
        return create_app()

    def test_home(client, db):
        with db.session():
            Note.objects.create(text="tea")
        assert client.get("/").context["notes"][0].text == "tea"
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

# Tests run production-like (no debug page) but need no secret key or host list. Set on
# import, so an app created while conftest.py files are imported already sees it.
os.environ.setdefault("KETTLE_ENV", "testing")


def _with_db_first(request: pytest.FixtureRequest) -> None:
    # A test that asks for `db` gets it before the app starts: start-up hooks (kettle.auth
    # creating its permissions) then write to the test database, inside its transaction.
    if "db" in request.fixturenames:
        request.getfixturevalue("db")


@pytest.fixture
def client(app: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A started ``TestClient`` for the ``app`` fixture."""
    from kettle.testing import TestClient

    _with_db_first(request)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def async_client(app: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A started ``AsyncTestClient`` for the ``app`` fixture (needs an async test runner)."""
    from kettle.testing import AsyncTestClient

    _with_db_first(request)
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def kettle_test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The run's test databases (``kettle.testing.database.TestDatabases``)."""
    from kettle.testing.database import TestDatabases

    databases = TestDatabases(tmp_path_factory.mktemp("kettle-db"))
    yield databases
    databases.close()


@pytest.fixture
def db(app: Any, kettle_test_databases: Any) -> Iterator[Any]:
    """The ``app`` fixture's ``Database``, on the run's test database (made and migrated
    once), inside a transaction rolled back after the test: every test starts clean."""
    from kettle.testing.database import database_of

    with kettle_test_databases.rolled_back(database_of(app)) as database:
        yield database


@pytest.fixture
def queries() -> Callable[[int], Any]:
    """``assert_num_queries``: ``with queries(2): client.get("/")``."""
    from kettle.testing.queries import assert_num_queries

    return assert_num_queries


@pytest.fixture
def mailoutbox() -> list[Any]:
    """The mail sent during the test (``kettle.mail.outbox``, emptied before it)."""
    from kettle import mail

    return mail.outbox


@pytest.fixture
def task_queue(app: Any) -> Iterator[Any]:
    """The ``app``'s ``Tasks`` collecting instead of sending during the test:
    ``task_queue.collected`` lists the messages, ``task_queue.run_collected()`` runs them."""
    from kettle.tasks.testing import collecting

    with collecting(app) as tasks:
        yield tasks


@pytest.fixture(autouse=True)
def _kettle_empty_outbox() -> None:
    # PERF: kettle.mail is only imported by projects that send mail.
    import sys

    mail = sys.modules.get("kettle.mail")
    if mail is not None:
        mail.outbox.clear()
