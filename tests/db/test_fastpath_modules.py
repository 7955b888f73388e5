"""The differential test, module by module: the QuerySet test modules run once more in a
subprocess with the fast path off (``KETTLE_DB_FAST_PATH=0``).

The normal run of those modules checks the compiled fast path (it is on by default); this
run checks SQLAlchemy's path against the same assertions, on the same three engines. It
is the slowest test of tests/db (about two minutes on two cores); test_fastpath_reads.py
compares the two paths directly, shape by shape, in seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
#: The modules whose tests read through QuerySets.
MODULES = (
    "test_query.py",
    "test_async_query.py",
    "test_lookups.py",
    "test_values_rows.py",
    "test_get_fast_path.py",
    "test_truth_value.py",
    "test_pagination.py",
    "test_integer_bounds.py",
)


@pytest.mark.timeout(1500)
def test_queryset_modules_pass_with_the_fast_path_off() -> None:
    if os.environ.get("KETTLE_DB_FAST_PATH") == "0":
        pytest.skip("the whole run has the fast path off already")
    env = {**os.environ, "KETTLE_DB_FAST_PATH": "0"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *(str(HERE / m) for m in MODULES),
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
