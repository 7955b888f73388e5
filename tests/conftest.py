"""Shared fixtures: the async backend for anyio-marked tests, and a cache folder of the
run's own (apps in development keep their secret key there; see kettle.settings). With
``-n N --dist loadfile`` (``make test``), parallelrun.py shares the files between workers.
"""

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
    if _in_parallel(config):
        # parallelrun puts the units in order; xdist would sort them by size again.
        config.option.loadscopereorder = False


def _in_parallel(config: pytest.Config) -> bool:
    """Whether pytest-xdist shares this run's files between workers (``--dist loadfile``)."""
    return getattr(config.option, "dist", "no") == "loadfile"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if not _in_parallel(config):
        return None
    from parallelrun import UnitScheduling

    return UnitScheduling(config, log)  # type: ignore[arg-type]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Only in a worker (it has workerinput): the order it collects is the order of work.
    if _in_parallel(config) and hasattr(config, "workerinput"):
        from parallelrun import in_running_order

        items[:] = in_running_order(items)


def pytest_unconfigure(config: pytest.Config) -> None:
    if CACHE_HOME in config.stash:
        shutil.rmtree(config.stash[CACHE_HOME], ignore_errors=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
