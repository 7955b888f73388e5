"""Fixtures for the auth tests: an app with a database on each engine.

The database fixtures are the data layer's (``tests/db/conftest.py``): every test that
uses ``site`` runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import Site, make_site

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:  # noqa: F811
    """A site on each engine in turn, its tables empty."""
    built = make_site(tmp_path, db_url)
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """A site on SQLite only, for what does not depend on the engine."""
    built = make_site(tmp_path, f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    built.db.create_all()
    yield built
    built.db.dispose()
