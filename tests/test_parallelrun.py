"""``make test`` runs the suite on pytest-xdist's workers (tests/parallelrun.py): files are
the units of work, the checkout installs one unit, the longest units first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from parallelrun import CHECKOUT_UNIT, in_running_order, unit_of

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Item:
    nodeid: str


def test_files_are_units_and_the_checkout_installs_are_one() -> None:
    assert unit_of("tests/test_url_for.py::test_static_urls") == "tests/test_url_for.py"
    assert unit_of("tests/db/test_query.py::test_get[sqlite]") == "tests/db/test_query.py"
    assert unit_of("tests/bench/test_tfb_smoke.py::test_tfb") == CHECKOUT_UNIT
    assert unit_of("tests/bench/test_news_smoke.py::test_news") == CHECKOUT_UNIT
    assert unit_of("tests/test_install.py::test_the_quickstart") == CHECKOUT_UNIT
    assert unit_of("tests/test_installer.py::test_x") == "tests/test_installer.py"


def test_the_longest_units_go_first_then_the_biggest() -> None:
    ids = [
        "tests/a/test_small.py::test_1",
        "tests/bench/test_orm_smoke.py::test_orm",
        "tests/a/test_big.py::test_1",
        "tests/a/test_big.py::test_2",
        "tests/examples/test_news_suite.py::test_the_news_site_suite",
        "tests/test_install.py::test_story",
        "tests/a/test_big.py::test_3",
    ]

    ordered = [item.nodeid for item in in_running_order([Item(i) for i in ids])]  # type: ignore[misc]

    assert ordered == [
        "tests/examples/test_news_suite.py::test_the_news_site_suite",
        "tests/bench/test_orm_smoke.py::test_orm",
        "tests/test_install.py::test_story",
        "tests/a/test_big.py::test_1",  # a file's tests keep their order
        "tests/a/test_big.py::test_2",
        "tests/a/test_big.py::test_3",
        "tests/a/test_small.py::test_1",
    ]


def test_make_test_runs_the_workers_by_file() -> None:
    # NOTE: without the outer make's variables, as `make test` itself runs this test:
    # inherited, they make the inner make print "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "test", "TEST_WORKERS=3"], cwd=REPO,
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip

    assert done.stdout.splitlines()[-1].endswith("-m pytest -n 3 --dist loadfile"), done.stdout
    # CI runs exactly that (.ci/run ends with make test).
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("make test")


@pytest.mark.timeout(300)
def test_a_parallel_run_keeps_each_unit_on_one_worker() -> None:
    files = [
        "tests/test_url_for.py",
        "tests/test_template_helpers.py",
        "tests/bench/test_tfb_rounds.py",
        "tests/bench/test_tfb_options.py",
        "tests/test_install.py::test_every_page_tells_the_same_install_story",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider",
         "-v", *files],
        cwd=REPO, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    workers: dict[str, set[str]] = {}
    for worker, nodeid in re.findall(r"^\[(gw\d+)\] \[\s*\d+%\] PASSED (\S+)", done.stdout, re.M):
        workers.setdefault(unit_of(nodeid), set()).add(worker)
    assert set(workers) == {
        "tests/test_url_for.py",
        "tests/test_template_helpers.py",
        CHECKOUT_UNIT,
    }
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # both workers had work
