"""Fixtures for migration tests: a throwaway project on each engine, with a clean database.

``project`` runs on SQLite, PostgreSQL and MariaDB in turn (through ``db_url`` from
``tests/db/conftest.py``); ``sqlite_project`` only on SQLite, for what does not depend on
the engine. Every table (``alembic_version`` too) is dropped before and after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from migration_project import KettleProject, Launcher, drop_everything


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    """Where ``kettle db`` commands run: forked from one warmed-up process."""
    server = Launcher()
    yield server
    server.close()


@pytest.fixture
def migration_url(db_url: str) -> Iterator[str]:
    """``db_url`` with nothing in it, and nothing left behind."""
    drop_everything(db_url)
    yield db_url
    drop_everything(db_url)


@pytest.fixture
def project(tmp_path: Path, migration_url: str, launcher: Launcher) -> KettleProject:
    """A project (app.py, models.py) on each engine in turn."""
    return KettleProject(tmp_path / "site", migration_url, launcher)


@pytest.fixture
def sqlite_project(tmp_path: Path, launcher: Launcher) -> KettleProject:
    """A project on a SQLite file of its own."""
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    return KettleProject(tmp_path / "site", url, launcher)
