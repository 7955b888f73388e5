"""Renames keep the data: asked about interactively, or given as ``--rename`` hints."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from migration_project import KettleProject
from sqlalchemy.dialects import mysql

from kettle.db.migrations import MigrationError, Renamer, parse_hints
from kettle.db.migrations.renames import compatible

BLOG = """\
import enum

from kettle.db import Model, fields


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class {model}(Model):
    {title}: str = fields.string(max_length=100, index=True)
    status: Status = fields.enum(Status, default=Status.DRAFT)


class Comment(Model):
    text: str = fields.text()
    article: {model} = fields.foreign_key({model}, related_name="comments")
"""
V1 = BLOG.format(model="Article", title="title")
RENAMED_COLUMN = BLOG.format(model="Article", title="headline")
RENAMED_BOTH = BLOG.format(model="Post", title="headline")


def seed(project: KettleProject) -> None:
    project.query("INSERT INTO article (title, status) VALUES ('Hello', 'published')")
    project.query("INSERT INTO comment (text, article_id) VALUES ('Nice', 1)")


def test_a_renamed_table_and_column_keep_their_rows(project: KettleProject) -> None:
    project.models(V1)
    project.run(["makemigrations", "-m", "initial"], ["migrate"])
    seed(project)

    project.models(RENAMED_BOTH)
    made, applied, checked = project.run(
        ["makemigrations", "--no-interactive", "--rename", "article.title=post.headline"],
        ["migrate"],
        ["check"],
    )
    assert made.code == 0, made
    assert "Renaming the table article to post" in made.output
    source = project.revisions()[-1].read_text()
    assert "op.rename_table('article', 'post')" in source
    assert "new_column_name='headline'" in source
    assert "drop_column" not in source
    assert "drop_table" not in source.split("def downgrade")[0]
    assert applied.code == 0, applied
    assert checked.code == 0, checked
    assert project.query(
        "SELECT p.headline, p.status, c.text FROM post p JOIN comment c ON c.article_id = p.id"
    ) == [("Hello", "published", "Nice")]
    # The enum CHECK moved with the table, under the new table's name.
    with pytest.raises(sa.exc.DBAPIError):
        project.query("INSERT INTO post (headline, status) VALUES ('x', 'archived')")

    reverted = project.kettle("downgrade", "-1")
    assert reverted.code == 0, reverted
    assert "article" in project.schema()
    assert project.query("SELECT title, status FROM article") == [("Hello", "published")]


def test_a_column_rename_is_asked_about(sqlite_project: KettleProject) -> None:
    project = sqlite_project
    project.models(V1)
    project.run(["makemigrations", "-m", "initial"], ["migrate"])
    seed(project)

    project.models(RENAMED_COLUMN)
    declined = project.kettle("makemigrations", "--interactive", "-m", "declined", stdin="n\n")
    assert "Did you rename article.title to article.headline? [y/N]" in declined.output
    # Answering no is the drop-and-add; that revision is thrown away here.
    declined_file = project.revisions()[-1]
    assert "drop_column('title')" in declined_file.read_text()
    declined_file.unlink()

    accepted, applied = project.run(
        (["makemigrations", "--interactive", "-m", "accepted"], "y\n"), ["migrate"]
    )
    assert accepted.code == 0, accepted
    assert "new_column_name='headline'" in project.revisions()[-1].read_text()
    assert applied.code == 0, applied
    assert project.query("SELECT headline FROM article") == [("Hello",)]


def test_without_a_prompt_a_likely_rename_is_a_warning(sqlite_project: KettleProject) -> None:
    project = sqlite_project
    project.models(V1)
    project.run(["makemigrations", "-m", "initial"], ["migrate"])
    project.models(RENAMED_COLUMN)
    made = project.kettle("makemigrations", "--no-interactive", "--rename", "article.text=x.y")
    assert made.code == 0, made
    assert "--rename article.title=article.headline" in made.output
    assert "--rename article.text=x.y matched nothing" in made.output


def test_hints_name_tables_or_columns() -> None:
    hints = parse_hints(["article=post", "comment.body=comment.text", "a.x=b.y"])
    assert hints.tables == {"article": "post", "a": "b"}
    assert hints.columns == {("comment", "body"): ("comment", "text"), ("a", "x"): ("b", "y")}
    for bad in ("article", "a.b=c", "=post", "a.b.c=d.e.f"):
        with pytest.raises(MigrationError, match="OLD=NEW"):
            parse_hints([bad])


def test_renames_are_only_proposed_between_compatible_types() -> None:
    assert compatible(sa.VARCHAR(20), sa.Text())
    assert compatible(sa.Integer(), sa.BigInteger())
    assert compatible(mysql.TINYINT(), sa.Boolean())
    assert compatible(mysql.LONGTEXT(), sa.JSON())
    assert not compatible(sa.Integer(), sa.String(10))
    assert not compatible(sa.DateTime(), sa.Date())

    asked: list[str] = []
    renamer = Renamer(ask=lambda question: asked.append(question) or True)
    old = [sa.Column("title", sa.String(20)), sa.Column("views", sa.Integer())]
    new = [sa.Column("count", sa.String(10)), sa.Column("headline", sa.String(50))]
    assert renamer.match_columns("article", "article", old, new) == {"title": "count"}
    assert asked == ["Did you rename article.title to article.count?"]


def test_a_table_of_a_similar_shape_is_proposed_as_a_rename() -> None:
    def table(name: str, *columns: str) -> sa.Table:
        return sa.Table(name, sa.MetaData(), *(sa.Column(c, sa.String(20)) for c in columns))

    asked: list[str] = []
    renamer = Renamer(ask=lambda question: asked.append(question) or True)
    removed = [table("article", "id", "title", "body")]
    added = [table("tag", "id", "label"), table("post", "id", "title", "text")]
    assert renamer.match_tables(removed, added) == {"article": "post"}
    assert asked == ["Did you rename the table article to post?"]

    warnings: list[str] = []
    quiet = Renamer(warn=warnings.append)
    assert quiet.match_tables(removed, added) == {}
    assert "--rename article=post" in warnings[0]
