"""Fixtures for the tasks tests: the database backend on SQLite, PostgreSQL and MariaDB.

The engines are the data layer's (``tests/db/conftest.py``); each test gets a fresh
``kettle_tasks`` table. ``taskhelpers`` starts real ``kettle worker`` processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from taskhelpers import TaskSite, make_site

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[TaskSite]:  # noqa: F811
    """An app with a Database on each engine in turn and Tasks on it, tables fresh."""
    with make_site(tmp_path, db_url) as built:
        yield built


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[TaskSite]:
    """The same on SQLite only, for what does not depend on the engine."""
    with make_site(tmp_path, f"sqlite:///{tmp_path / 'tasks.sqlite3'}") as built:
        yield built
