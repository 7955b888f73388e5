"""Kettle's pytest plugin (loaded automatically): ``KETTLE_ENV=testing`` and client fixtures.

Define an ``app`` fixture and use ``client`` or ``async_client``::

    @pytest.fixture
    def app():
        return create_app()

    def test_home(client):
        assert client.get("/").status_code == 200
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

# Tests run production-like (no debug page) but need no secret key or host list. Set on
# import, so an app created while conftest.py files are imported already sees it.
os.environ.setdefault("KETTLE_ENV", "testing")


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    """A started ``TestClient`` for the ``app`` fixture."""
    from kettle.testing import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def async_client(app: Any) -> AsyncIterator[Any]:
    """A started ``AsyncTestClient`` for the ``app`` fixture (needs an async test runner)."""
    from kettle.testing import AsyncTestClient

    async with AsyncTestClient(app) as test_client:
        yield test_client
