"""``migrate``, ``downgrade`` and ``sql`` on each engine, and the errors that say what to do."""

from __future__ import annotations

from migration_project import KettleProject

MODELS = """\
from kettle.db import Model, fields


class Article(Model):
    title: str = fields.string(max_length=100)
"""
MORE = MODELS + "    score: int = fields.integer(default=0)\n"


def test_sql_prints_the_ddl_without_running_it(project: KettleProject) -> None:
    project.models(MODELS)
    made, printed = project.run(["makemigrations", "-m", "initial"], ["sql"])
    assert made.code == 0, made
    assert printed.code == 0, printed
    assert "CREATE TABLE article" in printed.output
    assert "INSERT INTO alembic_version" in printed.output
    assert project.schema() == {}


def test_migrate_runs_each_revision_and_downgrade_reverts(project: KettleProject) -> None:
    project.models(MODELS)
    project.kettle("makemigrations", "-m", "first")
    project.models(MORE)
    # Two revisions in a row need the first applied before the second is generated.
    applied_first, made_second = project.run(["migrate"], ["makemigrations", "-m", "second"])
    assert applied_first.code == 0, applied_first
    assert made_second.code == 0, made_second
    project.query("DELETE FROM alembic_version")
    project.query("DROP TABLE article")

    applied, history, reverted, base = project.run(
        ["migrate"], ["history"], ["downgrade", "-1"], ["downgrade", "base"]
    )
    assert applied.code == 0, applied
    assert "applied" in applied.output
    assert "first" in applied.output
    assert "second" in applied.output
    assert "Applied 2 revision(s)" in applied.output
    assert history.code == 0, history
    assert "head, current" in history.output
    assert reverted.code == 0, reverted
    assert "Reverted 1 revision(s)" in reverted.output
    assert base.code == 0, base
    assert project.schema() == {}


def test_errors_say_what_to_do(sqlite_project: KettleProject) -> None:
    project = sqlite_project
    project.models(MODELS)
    nothing_yet, made, unknown_up, unknown_down = project.run(
        ["migrate"], ["makemigrations"], ["migrate", "nope"], ["downgrade", "zzz"]
    )
    assert nothing_yet.code == 1
    assert "No migrations yet" in nothing_yet.output
    assert "kettle db makemigrations" in nothing_yet.output
    assert made.code == 0, made
    for result, name in ((unknown_up, "nope"), (unknown_down, "zzz")):
        assert result.code == 1
        assert f"Unknown revision '{name}'" in result.output
        assert "kettle db history" in result.output

    project.models(MORE)
    behind = project.kettle("makemigrations")
    assert behind.code == 1
    assert "run `kettle db migrate` first" in behind.output

    (project.path / "app.py").write_text("from kettle import App\n\napp = App()\n")
    no_database = project.kettle("migrate")
    assert no_database.code == 1
    assert "has no Database" in no_database.output
    assert "Database(app" in no_database.output
