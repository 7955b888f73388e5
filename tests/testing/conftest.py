"""kettle.testing's tests: the data-layer's engines (each test runs on SQLite, PostgreSQL
and MariaDB where it asks for ``site_url``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from testingsite import make_app

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused
from kettle import App


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> App:  # noqa: F811
    """The testing site on each engine in turn (the plugin's ``db`` makes its test
    database ``test_<name>`` next to it)."""
    return make_app(tmp_path, db_url)
