"""Helpers for the cache tests: the machine's Redis and key prefixes of their own."""

from __future__ import annotations

import uuid

#: The machine's shared Redis; tests keep apart by key prefix, never by flushing it.
REDIS_URL = "redis://127.0.0.1:6379/0"


def own_prefix() -> str:
    """A key prefix no other test (or test process) uses."""
    return "kettle-test-" + uuid.uuid4().hex[:12]
