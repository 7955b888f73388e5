"""The migrations in examples/news/migrations build the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from news.app import PROJECT
from newssite import Site

from kettle.db.migrations import Migrations
from kettle.testing import TestClient


def test_migrating_an_empty_database_matches_the_models(site: Site) -> None:
    site.db.drop_all()
    migrations = Migrations(site.db, progress=False)
    assert migrations.project.folder == PROJECT / "migrations"
    applied = migrations.migrate()
    assert len(applied) == len(migrations.history()) >= 1
    assert migrations.check() == []
    tables = set(sa.inspect(site.db.sync_engine).get_table_names())
    expected = {
        "article",
        "article_vote",
        "comment",
        "comment_vote",
        "auth_user",
        "auth_group",
        "auth_permission",
        "auth_api_token",
        "kettle_admin_log",
    }
    assert expected <= tables
    # The app creates the roles as it starts; the site works on the migrated schema.
    with TestClient(site.app) as client:
        site.user("ann")
        signed_in = site.client("ann")
        assert signed_in.get("/").status_code == 200
        assert client.get("/api/articles").json()["articles"] == []
    with site.db.sync_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
