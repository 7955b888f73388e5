"""The ``db`` fixture: a test database per run, each test inside a transaction rolled
back at its end, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from testingsite import KtAuthor, KtNote

from kettle import App
from kettle.db import Database, atomic
from kettle.exceptions import ConfigurationError
from kettle.testing import TestClient
from kettle.testing.database import TestDatabases, database_of, url_for_tests


@pytest.fixture
def app(site: App) -> App:
    return site


def rows(db: Database) -> list[tuple[str, str]]:
    with db.session():
        return [(n.text, n.author.name) for n in KtNote.objects.order_by("id")]


# Two tests writing the same unique name: the second passes only if the first's rows are
# gone, whichever runs first (and on every engine).
@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_with_empty_tables(db: Database, attempt: int) -> None:
    with db.session():
        assert KtAuthor.objects.count() == 0
        KtAuthor.objects.create(name="ann")  # unique: a leftover row would make this fail
    assert rows(db) == []


def test_the_test_database_is_not_the_configured_one(db: Database) -> None:
    with db.session() as session:
        name = session.connection().engine.url.database
    configured = db.url.database or ""
    assert name != configured
    assert Path(name or "").name.startswith("test_") or name == f"test_{configured}"


def test_requests_and_test_code_share_the_transaction(db: Database, client: TestClient) -> None:
    with db.session():
        ann = KtAuthor.objects.create(name="ann")
        KtNote.objects.create(text="from the test", author=ann)
    created = client.post("/notes?text=from+a+request&author=bob")
    assert created.status_code == 201
    assert client.get("/async-notes").json() == {"count": 2}  # async code sees both
    page = client.get("/notes")
    assert "from the test by ann" in page.text
    assert [n.text for n in page.context["notes"]] == ["from the test", "from a request"]
    assert rows(db) == [("from the test", "ann"), ("from a request", "bob")]


def test_committed_writes_are_gone_after_the_test(
    site: App, kettle_test_databases: TestDatabases
) -> None:
    database = database_of(site)
    with kettle_test_databases.rolled_back(database):
        with TestClient(site) as client:
            assert client.post("/notes?text=tea&author=cy").status_code == 201
        with database.session():
            assert KtNote.objects.count() == 1  # committed by its request's unit of work
    with kettle_test_databases.rolled_back(database):
        assert rows(database) == []


def test_an_atomic_block_rolls_back_on_its_own(db: Database) -> None:
    def write_then_fail() -> None:
        with atomic():
            KtAuthor.objects.create(name="undone")
            raise RuntimeError("undo")

    with db.session():
        KtAuthor.objects.create(name="kept")
        with pytest.raises(RuntimeError):
            write_then_fail()
    with db.session():
        assert [a.name for a in KtAuthor.objects.all()] == ["kept"]


def test_a_failed_request_rolls_back_only_its_own_writes(db: Database, client: TestClient) -> None:
    with db.session():
        KtAuthor.objects.create(name="ann")
    client.post("/notes?text=first&author=ann")
    too_long = "x" * 300
    assert client.post(f"/notes?text={too_long}&author=ann").status_code >= 400
    assert [text for text, _ in rows(db)] == ["first"]


def test_server_engines_use_a_test_prefixed_database(tmp_path: Path) -> None:
    # Under pytest-xdist (make test) each worker adds its id: test_news_gw0.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    suffix = f"_{worker}" if worker else ""
    url = sa.make_url("postgresql://news@db:5432/news")
    assert url_for_tests(url, tmp_path).database == f"test_news{suffix}"
    sqlite = url_for_tests(sa.make_url("sqlite:////srv/news/db.sqlite3"), tmp_path)
    assert sqlite.database == str(tmp_path / f"test_db{suffix}.sqlite3")


def test_an_app_without_a_database_is_told_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"create `Database\(app\)`"):
        database_of(App(root=tmp_path))


@pytest.fixture
def migrated_site(tmp_path: Path) -> App:
    """A SQLite site with a migration that creates a table no model declares: only a
    migrated test database has it."""
    from testingsite import make_app

    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_marker.py").write_text(
        'revision = "0001"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'def upgrade():\n    op.create_table("kt_marker", sa.Column("id", sa.Integer, '
        "primary_key=True))\n\n"
        'def downgrade():\n    op.drop_table("kt_marker")\n'
    )
    return make_app(tmp_path, f"sqlite:///{tmp_path / 'site.sqlite3'}")


def test_a_project_with_migrations_gets_a_migrated_database(
    migrated_site: App, kettle_test_databases: TestDatabases
) -> None:
    database = database_of(migrated_site)
    with kettle_test_databases.rolled_back(database), database.session() as session:
        names = sa.inspect(session.connection()).get_table_names()
    assert "kt_marker" in names
    assert "kt_note" not in names  # no create_all: the migrations alone decide
