"""The migrations in examples/news/migrations build the schema the models describe."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from news.app import PROJECT
from newssite import Site

from kettle.auth import User
from kettle.db import Model
from kettle.db.migrations import Migrations
from kettle.testing import TestClient


def drift(migrations: Migrations) -> list[str]:
    """``migrations.check()`` without what concerns the tables of models that other test
    modules run in this process defined (every model shares one registry; the news
    migrations know nothing of a test's ``Member`` or its link tables)."""
    foreign = {
        mapper.local_table.name
        for mapper in Model.registry.mappers
        if not mapper.class_.__module__.startswith(("news", "kettle"))
    }
    foreign |= {
        table.name
        for table in Model.metadata.tables.values()
        if any(key.column.table.name in foreign for key in table.foreign_keys)
    }
    # a change reads "add index: member.ix_member_email": its table comes first
    return [
        change
        for change in migrations.check()
        if re.split(r"[. ]", change.split(": ", 1)[-1], maxsplit=1)[0] not in foreign
    ]


def test_migrating_an_empty_database_matches_the_models(site: Site) -> None:
    site.db.drop_all()
    migrations = Migrations(site.db, progress=False)
    assert migrations.project.folder == PROJECT / "migrations"
    applied = migrations.migrate()
    assert len(applied) == len(migrations.history()) >= 1
    assert drift(migrations) == []
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
        "auth_session",
        "kettle_admin_log",
        "auth_user_totp",
        "auth_user_recovery_code",
        "auth_user_passkey",
        "auth_user_identity",
    }
    assert expected <= tables
    # The app creates the roles as it starts; the site works on the migrated schema.
    with TestClient(site.app) as client:
        site.user("ann")
        signed_in = site.client("ann")
        assert signed_in.get("/").status_code == 200
        assert client.get("/api/articles").json()["items"] == []
    with site.db.sync_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")


def test_the_username_keys_are_filled_for_existing_users(site: Site) -> None:
    """c2b3d4e5f6a7 gives every user a look-alike key; names that already look alike
    keep working, the oldest holding the key of their look."""
    from kettle.auth.usernames import username_key

    site.db.drop_all()
    migrations = Migrations(site.db, progress=False)
    [before] = next(r.parents for r in migrations.history() if r.id == "c2b3d4e5f6a7")
    migrations.migrate(before)
    # Twins by look (\u0430 and \u043e are Cyrillic); not by case alone, which MariaDB's
    # collation refuses already.
    names = ["paolo", "pao1o", "p\u0430\u043elo", "ann", "\u0430nn"]
    with site.db.sync_engine.begin() as connection:
        for name in names:
            connection.execute(
                sa.text(
                    "INSERT INTO auth_user (username, email, password, is_active, is_staff,"
                    " is_superuser, date_joined) VALUES (:name, '', '', :yes, :no, :no, :now)"
                ),
                {"name": name, "yes": True, "no": False, "now": dt.datetime(2026, 1, 1)},
            )
    migrations.migrate()
    assert drift(migrations) == []
    with site.db.sync_engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT username, username_key FROM auth_user ORDER BY id")
        ).all()
    keys = dict(rows)
    assert keys["paolo"] == username_key("paolo")
    assert keys["ann"] == username_key("ann")
    assert len(set(keys.values())) == len(names)  # unique: the later twins have their own
    assert all(len(key) == 64 for key in keys.values())
    # A new look-alike is refused by the database; the old twins still save.
    with site.db.session():
        twin = User.objects.get(username="pao1o")
        twin.is_staff = True
        twin.save()
    with pytest.raises(sa.exc.IntegrityError), site.db.session():
        User.objects.create(username="Paolo")
    with site.db.sync_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")


def test_the_longtext_migration_goes_down_and_up_again(site: Site) -> None:
    """a9c1e5d7f3b2 widens text columns to LONGTEXT on MySQL/MariaDB only, and back."""
    site.db.drop_all()
    migrations = Migrations(site.db, progress=False)
    migrations.migrate()

    def body_type() -> str:
        columns = sa.inspect(site.db.sync_engine).get_columns("article")
        return str(next(c["type"] for c in columns if c["name"] == "body")).upper()

    on_mysql = site.db.sync_engine.dialect.name in ("mysql", "mariadb")
    assert ("LONGTEXT" in body_type()) is on_mysql
    migrations.downgrade("8635e81ef6ac")
    assert "LONGTEXT" not in body_type()
    migrations.migrate()
    assert ("LONGTEXT" in body_type()) is on_mysql
    assert drift(migrations) == []
