"""Fixtures for the resource tests: an auth site on each engine with the posts' tables.

The engines are the data layer's (``tests/db/conftest.py``), the site the auth tests'
(``tests/auth/authsite.py``): every test using ``site`` runs on SQLite, PostgreSQL and
MariaDB.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The helpers of the auth and data-layer tests (authsite, dbhelpers) are reused here.
for folder in ("auth", "db"):
    sys.path.insert(0, str(Path(__file__).parent.parent / folder))

import resourcemodels  # noqa: E402, F401 - registers the posts' tables
from authsite import Site, make_site  # noqa: E402

from db.conftest import db_url, engine_urls  # noqa: E402, F401 - the three engines


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:  # noqa: F811
    """An app with kettle.db and kettle.auth on each engine in turn, tables empty."""
    built = make_site(tmp_path, db_url)
    built.db.drop_all()
    built.db.create_all()
    yield built
    built.db.drop_all()
    built.db.dispose()
