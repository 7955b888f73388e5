"""Data migrations: ``makemigrations --data`` and the helpers that read and write rows."""

from __future__ import annotations

from migration_project import KettleProject

MODELS = """\
from kettle.db import Model, fields


class Article(Model):
    title: str = fields.string(max_length=100)
    slug: str | None = fields.string(max_length=100, null=True)
"""

BACKFILL = """\
    article = sa.table("article", sa.column("id"), sa.column("title"), sa.column("slug"))
    query = sa.select(article.c.id, article.c.title).order_by(article.c.id)
    for rows in data.batches(query, size=2):
        slugs = [{"id": r.id, "slug": r.title.lower().replace(" ", "-")} for r in rows]
        data.bulk_update(article, slugs, description="Writing slugs")
    data.bulk_insert(article, [{"title": "Added", "slug": None}])
    with data.session() as session:
        session.execute(sa.update(article).where(article.c.slug.is_(None)).values(slug="x"))
"""


def test_a_data_migration_reads_and_writes_rows(project: KettleProject) -> None:
    project.models(MODELS)
    made, applied, data_made = project.run(
        ["makemigrations", "-m", "initial"],
        ["migrate"],
        ["makemigrations", "--data", "-m", "slugs"],
    )
    assert made.code == 0, made
    assert applied.code == 0, applied
    assert data_made.code == 0, data_made
    revision = project.revisions()[-1]
    source = revision.read_text()
    assert "from kettle.db.migrations import data" in source
    assert "data.batches" in source  # the documented pattern, as a comment to fill in
    upgrade, rest = source.split("def downgrade")
    revision.write_text(upgrade.replace("    pass\n", BACKFILL) + "def downgrade" + rest)
    titles = ["Hello World", "Second Post", "Third One", "Fourth"]
    for title in titles:
        project.query("INSERT INTO article (title) VALUES (:title)", title=title)

    applied = project.kettle("migrate")
    assert applied.code == 0, applied
    assert "applied" in applied.output
    assert "slugs" in applied.output
    assert project.query("SELECT title, slug FROM article ORDER BY id") == [
        ("Hello World", "hello-world"),
        ("Second Post", "second-post"),
        ("Third One", "third-one"),
        ("Fourth", "fourth"),
        ("Added", "x"),
    ]
