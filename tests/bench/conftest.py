"""The benchmarks' smoke tests drive servers with wrk: without it they fail, saying how to
install it (``make test`` installs it as root with apt-get: scripts/ensure-wrk)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def wrk_installed() -> None:
    if shutil.which("wrk") is None:
        pytest.fail(
            "The benchmark smoke tests need wrk and it is not on PATH: install it with "
            "`sudo apt-get install wrk` (`make test` does it as root: scripts/ensure-wrk).",
            pytrace=False,
        )
