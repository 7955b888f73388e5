"""``fields.text`` is ``LONGTEXT`` on MySQL and MariaDB (their ``TEXT`` stops at 64 KB):
new revisions create it so, existing projects get a revision that widens their columns
there, and other engines see no change."""

from __future__ import annotations

import re

import sqlalchemy as sa
from migration_project import KettleProject

MODELS = """\
from kettle.db import Model, fields


class Note(Model):
    body: str = fields.text(default="")
    extra: str | None = fields.text(null=True)
"""
MEGABYTE = "0123456789abcdef" * 65536
#: How a revision renders the type of ``fields.text``.
RENDERED = re.compile(r"sa\.Text\(\)(?:\.with_variant\(mysql\.LONGTEXT\(\), '\w+'\))+")


def test_a_new_revision_makes_longtext_columns_that_hold_a_megabyte(
    project: KettleProject,
) -> None:
    project.models(MODELS)
    made, applied, checked = project.run(["makemigrations", "-m", "notes"], ["migrate"], ["check"])
    assert made.code == 0, made
    source = project.revisions()[-1].read_text()
    assert "from sqlalchemy.dialects import mysql" in source
    assert RENDERED.search(source), source
    assert "with_variant(mysql.LONGTEXT(), 'mysql')" in source
    assert "with_variant(mysql.LONGTEXT(), 'mariadb')" in source
    assert applied.code == 0, applied
    assert checked.code == 0, checked
    project.query("INSERT INTO note (body, extra) VALUES (:body, :body)", body=MEGABYTE)
    assert project.query("SELECT body, extra FROM note") == [(MEGABYTE, MEGABYTE)]
    if project.url.startswith("mysql"):
        engine = project.engine()
        try:
            columns = sa.inspect(engine).get_columns("note")
        finally:
            engine.dispose()
        types = {column["name"]: type(column["type"]).__name__ for column in columns}
        assert (types["body"], types["extra"]) == ("LONGTEXT", "LONGTEXT")


def test_an_existing_project_is_widened_on_mysql_only(project: KettleProject) -> None:
    project.models(MODELS)
    assert project.kettle("makemigrations", "-m", "notes").code == 0
    # The revision as Kettle wrote it before: plain TEXT on every engine.
    [revision] = project.revisions()
    revision.write_text(RENDERED.sub("sa.Text()", revision.read_text()))
    assert "LONGTEXT" not in revision.read_text()
    applied, drift, made, migrated, checked = project.run(
        ["migrate"], ["check"], ["makemigrations", "-m", "longtext"], ["migrate"], ["check"]
    )
    assert applied.code == 0, applied
    assert checked.code == 0, checked
    if not project.url.startswith("mysql"):
        assert drift.code == 0, drift
        assert "No changes detected" in made.output
        assert len(project.revisions()) == 1
        return
    assert drift.code == 1, drift
    assert "modify type: note.body" in drift.output
    assert made.code == 0, made
    source = project.revisions()[-1].read_text()
    assert "op.alter_column('note', 'body'" in source
    assert "type_=sa.Text().with_variant(mysql.LONGTEXT()" in source
    assert migrated.code == 0, migrated
    project.query("INSERT INTO note (body) VALUES (:body)", body=MEGABYTE)
    assert project.query("SELECT body FROM note") == [(MEGABYTE,)]
