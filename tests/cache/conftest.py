"""Fixtures for the cache tests: every ``cache`` test runs in process and on the machine's
Redis (127.0.0.1:6379), under a key prefix of its own so parallel runs never clash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cachehelpers import REDIS_URL, own_prefix

from kettle.cache import Cache


@pytest.fixture(params=["memory://", REDIS_URL], ids=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A cache on each backend in turn, empty."""
    built = Cache(url=request.param, prefix=own_prefix())
    yield built
    built.clear()
