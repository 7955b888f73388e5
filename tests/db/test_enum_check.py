"""Enum columns: a database made by ``create_all`` refuses values outside the enum, with
the CHECK that migrations give it (same name, same members)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from newsmodels import Article, User

from kettle.db import Database
from kettle.db._mapping import enum_check_name
from kettle.db.migrations import Migrations, enums

# NOTE: MariaDB reports a failed CHECK as error 4025, an OperationalError in PyMySQL.
REFUSED = (sa.exc.IntegrityError, sa.exc.OperationalError)


@pytest.fixture
def author_id(db: Database) -> int:
    with db.session():
        ann_id: int = User.objects.create(username="ann").id
    return ann_id


def test_core_insert_of_a_value_outside_the_enum_is_refused(db: Database, author_id: int) -> None:
    table = Article.__table__
    published = sa.insert(table).values(title="ok", author_id=author_id, status="published")
    with db.sync_engine.begin() as connection:
        connection.execute(published)
    # The Enum type refuses it in Python; a plain string gets past that to the database.
    with pytest.raises(sa.exc.StatementError) as python, db.sync_engine.begin() as connection:
        connection.execute(published.values(status="archived"))
    assert isinstance(python.value.orig, LookupError)
    archived = published.values(title="no", status=sa.literal("archived", sa.String()))
    with pytest.raises(REFUSED) as caught, db.sync_engine.begin() as connection:
        connection.execute(archived)
    assert "ck_article_status_enum" in str(caught.value)
    with db.sync_engine.begin() as connection:
        assert connection.scalars(sa.select(table.c.title)).all() == ["ok"]


def test_raw_sql_cannot_write_a_value_outside_the_enum(db: Database, author_id: int) -> None:
    insert = sa.text(
        "INSERT INTO article (title, body, status, score, created, updated, author_id) "
        "VALUES ('raw', '', :status, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :author)"
    )
    with pytest.raises(REFUSED), db.sync_engine.begin() as connection:
        connection.execute(insert, {"status": "archived", "author": author_id})
    with db.sync_engine.begin() as connection:
        connection.execute(insert, {"status": "draft", "author": author_id})


def test_the_check_is_the_one_migrations_make(db: Database) -> None:
    checks = sa.inspect(db.sync_engine).get_check_constraints("article")
    [check] = [c for c in checks if c["name"] == "ck_article_status_enum"]
    assert set(enums.members_in(str(check["sqltext"]))) == {"draft", "published"}
    assert enum_check_name("article", "status") == "ck_article_status_enum"
    long = enum_check_name("a" * 40, "b" * 30)  # PostgreSQL keeps 63 characters, MariaDB 64
    assert len(long) <= 60
    assert long.endswith("_enum")
    assert long != enum_check_name("a" * 40, "b" * 31)


def test_kettle_db_check_sees_no_difference_after_create_all(db: Database, tmp_path: Path) -> None:
    migrations = Migrations(db, tmp_path / "migrations", stdout=io.StringIO())
    migrations.project.create_folders()
    assert migrations.check() == []
