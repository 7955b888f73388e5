"""``kettle db squash``: one revision that builds the same schema as the ones it replaces."""

from __future__ import annotations

from migration_project import KettleProject, drop_everything

from kettle.db.migrations.squash import merge

ARTICLE = """\
from kettle.db import Model, fields


class Article(Model):
    title: str = fields.string(max_length=100)
"""
WITH_BODY = ARTICLE + "    body: str = fields.text(default='')\n"
WITH_TAG = (
    WITH_BODY
    + """

class Tag(Model):
    name: str = fields.string(max_length=30, unique=True)
    article: Article = fields.foreign_key(Article, related_name="tags")
"""
)


def test_squash_leaves_one_revision_building_the_same_schema(project: KettleProject) -> None:
    for models, message in ((ARTICLE, "one"), (WITH_BODY, "two")):
        project.models(models)
        project.run(["makemigrations", "-m", message], ["migrate"])
    project.models(WITH_TAG)
    made, applied, squashed, still_valid = project.run(
        ["makemigrations", "-m", "three"], ["migrate"], ["squash", "-m", "everything"], ["check"]
    )
    assert made.code == 0, made
    assert applied.code == 0, applied
    assert squashed.code == 0, squashed
    [revision] = project.revisions()
    assert "Squashes 3 revisions" in revision.read_text()
    # The database stays at the (reused) head id: nothing to do, nothing lost.
    assert still_valid.code == 0, still_valid
    schema = project.schema()
    assert set(schema) == {"article", "tag"}

    drop_everything(project.url)
    applied, checked, reverted, again = project.run(
        ["migrate"], ["check"], ["downgrade", "base"], ["migrate"]
    )
    assert applied.code == 0, applied
    assert "Applied 1 revision(s)" in applied.output
    assert checked.code == 0, checked
    assert reverted.code == 0, reverted
    assert again.code == 0, again
    assert project.schema() == schema


def test_squash_a_later_run_keeps_the_first_revision(sqlite_project: KettleProject) -> None:
    project = sqlite_project
    ids = []
    for models, message in ((ARTICLE, "one"), (WITH_BODY, "two"), (WITH_TAG, "three")):
        project.models(models)
        project.run(["makemigrations", "-m", message], ["migrate"])
        ids.append(project.revisions()[-1].name.split("_")[4])
    inside = project.run(["downgrade", "-1"], ["squash", "--start", ids[1]])[1]
    assert inside.code == 1
    assert f"migrate it to {ids[2]} first" in inside.output

    applied, squashed = project.run(["migrate"], ["squash", "--start", ids[1]])
    assert applied.code == 0, applied
    assert squashed.code == 0, squashed
    assert [p.name.split("_")[4] for p in project.revisions()] == [ids[0], ids[2]]
    drop_everything(project.url)
    assert project.kettle("migrate").code == 0
    assert set(project.schema()) == {"article", "tag"}


def test_merge_keeps_each_revision_verbatim() -> None:
    first = '''"""one"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None

NOTE = """line one
line two"""


def upgrade() -> None:
    # keep this comment
    op.execute(NOTE)


def downgrade() -> None:
    pass
'''
    second = first.replace('"a1"', '"b2"').replace("= None", '= "a1"')
    source = merge([("a1", "one", first), ("b2", "two", second)], "b2", None, "both")
    namespace: dict[str, object] = {}
    exec(compile(source, "squashed.py", "exec"), namespace)
    assert namespace["revision"] == "b2"
    assert namespace["down_revision"] is None
    assert "    # keep this comment" in source
    assert '"""line one\nline two"""' in source
    steps = namespace["_STEPS"]
    assert isinstance(steps, list)
    assert len(steps) == 2
