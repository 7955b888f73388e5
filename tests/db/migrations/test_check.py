"""``kettle db check``: exit 1 when the models and the migrations disagree, 0 when not."""

from __future__ import annotations

from migration_project import KettleProject

MODELS = """\
from kettle.db import Model, fields


class Article(Model):
    title: str = fields.string(max_length=100)
"""


def test_check_fails_on_drift_and_passes_once_migrated(project: KettleProject) -> None:
    project.models(MODELS)
    no_migrations = project.kettle("check")
    assert no_migrations.code == 1
    assert "add table: article" in no_migrations.output

    project.run(["makemigrations", "-m", "initial"], ["migrate"])
    project.models(MODELS + "    views: int = fields.integer(default=0)\n")
    drift, made, not_applied, applied, clean = project.run(
        ["check"], ["makemigrations"], ["check"], ["migrate"], ["check"]
    )
    assert drift.code == 1, drift
    assert "add column: article.views" in drift.output
    assert made.code == 0, made
    assert not_applied.code == 1
    assert "kettle db migrate" in not_applied.output
    assert applied.code == 0, applied
    assert clean.code == 0, clean
    assert "agree" in clean.output


SERVER_DEFAULTS = """\
    note: str = fields.string(max_length=20, server_default="{note}")
    flagged: bool = fields.boolean(server_default=sa.{flag}())
"""


def test_server_defaults_added_later_agree_until_they_change(project: KettleProject) -> None:
    # Each engine reflects these defaults in its own spelling (SQLite: ('') and 0, MariaDB:
    # 0, PostgreSQL: ''::character varying and false); all are the declared ones.
    header = "import sqlalchemy as sa\n" + MODELS
    project.models(MODELS)
    project.run(["makemigrations", "-m", "initial"], ["migrate"])
    project.models(header + SERVER_DEFAULTS.format(note="", flag="false"))
    made, applied, clean = project.run(["makemigrations"], ["migrate"], ["check"])
    assert made.code == 0, made
    assert applied.code == 0, applied
    assert clean.code == 0, clean

    project.models(header + SERVER_DEFAULTS.format(note="new", flag="true"))
    drift = project.kettle("check")
    assert drift.code == 1, drift
    assert "modify default: article.note" in drift.output
    assert "modify default: article.flagged" in drift.output
