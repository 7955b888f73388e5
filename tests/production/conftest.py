"""Fixtures for the production tests: the data layer's three engines (tests/db/conftest.py)."""

from __future__ import annotations

from db.conftest import db_url, engine_urls  # noqa: F401 - the three engines, reused
