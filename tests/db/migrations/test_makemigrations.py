"""``kettle db makemigrations`` on each engine: the first revision, then type, server
default and enum changes, applied and reverted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from migration_project import KettleProject

MODELS = """\
import datetime as dt
import enum
import uuid
from decimal import Decimal

from kettle.db import Model, fields


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
{extra_member}

class Author(Model):
    name: str = fields.string(max_length=50, unique=True)


class Article(Model):
    title: str = fields.string(max_length={title_length}, index=True)
    body: str = fields.text(default="")
    status: Status = fields.enum(Status, default=Status.DRAFT)
    score: int = fields.integer(server_default="{score_default}")
    rating: Decimal | None = fields.decimal(5, 2, null=True)
    pinned: bool = fields.boolean()
    created: dt.datetime = fields.datetime(auto_now_add=True)
    meta: dict | None = fields.json(null=True)
    token: uuid.UUID | None = fields.uuid(null=True)
    author: Author = fields.foreign_key(Author, related_name="articles")
"""
V1 = MODELS.format(extra_member="", title_length=100, score_default="0")
V2 = MODELS.format(extra_member='    ARCHIVED = "archived"', title_length=200, score_default="5")

INSERT = (
    "INSERT INTO article (title, body, status, pinned, created, author_id) "
    "VALUES (:title, '', :status, false, CURRENT_TIMESTAMP, :author)"
)


def insert_article(project: KettleProject, title: str, status: str = "draft") -> None:
    (author,) = project.query("SELECT id FROM author")[0]
    project.query(INSERT, title=title, status=status, author=author)


def test_first_revision_creates_the_folder_and_the_tables(project: KettleProject) -> None:
    project.models(V1)
    made, applied, checked, again = project.run(
        ["makemigrations", "-m", "initial"], ["migrate"], ["check"], ["makemigrations"]
    )
    assert made.code == 0, made
    assert (project.path / "migrations" / "versions").is_dir()
    [revision] = project.revisions()
    assert revision.name.endswith("_initial.py")
    source = revision.read_text()
    assert "op.create_table('article'" in source
    assert "ck_article_status_enum" in source
    assert applied.code == 0, applied
    assert "applied" in applied.output
    assert set(project.schema()) == {"article", "author"}
    assert checked.code == 0, checked
    assert "agree" in checked.output
    assert again.code == 0, again
    assert "No changes detected" in again.output
    assert len(project.revisions()) == 1

    # The enum's members are enforced by the database, not only by Python.
    project.query("INSERT INTO author (name) VALUES ('ann')")
    insert_article(project, "Hello")
    with pytest.raises(sa.exc.DBAPIError):
        insert_article(project, "Nope", status="archived")


def test_type_default_and_enum_changes_are_migrated(project: KettleProject) -> None:
    project.models(V1)
    made, applied = project.run(["makemigrations", "-m", "initial"], ["migrate"])
    assert applied.code == 0, applied
    project.query("INSERT INTO author (name) VALUES ('ann')")
    insert_article(project, "Hello")

    project.models(V2)
    drift, made, applied, checked = project.run(
        ["check"], ["makemigrations", "-m", "widen"], ["migrate"], ["check"]
    )
    assert drift.code == 1, drift
    assert "modify type: article.title" in drift.output
    assert made.code == 0, made
    source = project.revisions()[-1].read_text()
    assert "type_=sa.String(length=200)" in source
    assert "server_default='5'" in source
    assert "'archived'" in source
    assert "drop_column" not in source
    assert applied.code == 0, applied
    assert checked.code == 0, checked

    insert_article(project, "x" * 150, status="archived")
    (author,) = project.query("SELECT id FROM author")[0]
    project.query(
        "INSERT INTO article (title, body, status, pinned, created, author_id) "
        "VALUES ('defaults', '', 'draft', false, CURRENT_TIMESTAMP, :a)",
        a=author,
    )
    assert project.query("SELECT score FROM article WHERE title = 'defaults'") == [(5,)]
    assert project.query("SELECT title FROM article WHERE title = 'Hello'") == [("Hello",)]

    # Back down: rows the old schema cannot hold go first, then the old CHECK returns.
    project.query("DELETE FROM article WHERE status = 'archived'")
    reverted = project.kettle("downgrade", "-1")
    assert reverted.code == 0, reverted
    assert "reverted" in reverted.output
    with pytest.raises(sa.exc.DBAPIError):
        insert_article(project, "Nope", status="archived")
    project.query(
        "INSERT INTO article (title, body, status, pinned, created, author_id) "
        "VALUES ('old default', '', 'draft', false, CURRENT_TIMESTAMP, :a)",
        a=author,
    )
    assert project.query("SELECT score FROM article WHERE title = 'old default'") == [(0,)]


def test_the_message_may_be_given_without_m(sqlite_project: KettleProject) -> None:
    # What a newcomer types first (issue #12): the message as an argument, quoted or not.
    sqlite_project.models(V1)
    quoted, unquoted = sqlite_project.run(
        ["makemigrations", "authors and articles"], ["makemigrations", "--data", "fix", "slugs"]
    )
    assert quoted.code == 0, quoted
    assert unquoted.code == 0, unquoted
    first, second = sqlite_project.revisions()
    assert first.name.endswith("_authors_and_articles.py")
    assert second.name.endswith("_fix_slugs.py")


def test_two_different_messages_are_refused(sqlite_project: KettleProject) -> None:
    sqlite_project.models(V1)
    (both,) = sqlite_project.run(["makemigrations", "-m", "one", "two"])
    assert both.code == 2, both
    assert "either as an argument or with -m" in both.output + (both.error or "")
    assert sqlite_project.revisions() == []
