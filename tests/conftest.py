"""Shared fixtures: the async backend for anyio-marked tests, and a cache folder of the
run's own (apps in development keep their secret key there; see kettle.settings)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CACHE_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # NOTE: for the whole run, subprocesses included (kettle run, generated projects' own
    # test runs), so that no test writes into the developer's ~/.cache.
    config.stash[CACHE_HOME] = tempfile.mkdtemp(prefix="kettle-test-cache-")
    os.environ["XDG_CACHE_HOME"] = config.stash[CACHE_HOME]


def pytest_unconfigure(config: pytest.Config) -> None:
    if CACHE_HOME in config.stash:
        shutil.rmtree(config.stash[CACHE_HOME], ignore_errors=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
