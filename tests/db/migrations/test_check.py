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
