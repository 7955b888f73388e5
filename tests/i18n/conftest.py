"""The i18n tests' app folder: templates/ and the app's own compiled catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from i18nsite import write_catalogues

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An app folder with templates/ and compiled catalogues."""
    (tmp_path / "templates").mkdir()
    write_catalogues(tmp_path)
    return tmp_path
