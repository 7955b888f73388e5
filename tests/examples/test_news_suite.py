"""The news site's tests, in a process of their own when this one cannot import the site.

Kettle's models share one registry per process; the data layer's test models declare
tables named ``article`` and ``comment`` as the news site does. In a run of the whole
suite, ``tests/examples/news/conftest.py`` leaves that folder out, and this test runs it
with pytest in a fresh process instead. Run alone, the folder runs in-process and this
test has nothing to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.mark.timeout(1800)
def test_the_news_site_suite_passes_in_a_process_of_its_own() -> None:
    sys.path.insert(0, str(HERE / "news"))
    try:
        from newsisolation import clashing_tables
    finally:
        sys.path.pop(0)
    clash = clashing_tables()
    if not clash:
        pytest.skip("the news site's tests were collected in this process")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "news")],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-60:])
    assert done.returncode == 0, f"tests/examples/news failed in its own process:\n{tail}"
