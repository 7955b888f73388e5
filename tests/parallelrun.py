"""How ``make test`` shares the suite between pytest-xdist's workers (``-n N --dist loadfile``).

A test file is the unit of work, as ``--dist loadfile`` has it: its module fixtures are
made once, and its tests run in order. Two exceptions:

- the files that install Kettle from this checkout (``pip install -e``: the benchmarks'
  smoke runs into ``bench/.venv``, the quickstart into a fresh environment) form one unit,
  so that no two builds write ``src/kettle.egg-info`` at once;
- the longest units go first (the news site's own suite, which runs as one test in a
  pytest process of its own, takes minutes): started last, they would leave one worker
  busy long after the others ran out of work. The rest follow, biggest first.

tests/conftest.py wires it in; this module imports xdist, so it is only imported when a
run uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from xdist.scheduler import LoadFileScheduling

#: Files that build and install Kettle from the checkout: run one after another.
CHECKOUT_INSTALLS = ("tests/bench/", "tests/test_install.py")
CHECKOUT_UNIT = "checkout installs (tests/bench, tests/test_install.py)"
#: Units that take minutes, longest first: started at once.
LONGEST = (
    "tests/examples/test_news_suite.py",
    CHECKOUT_UNIT,
    "tests/test_new.py",
    "tests/test_docs_site.py",
)


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or CHECKOUT_UNIT."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(CHECKOUT_INSTALLS):
        return CHECKOUT_UNIT
    return path


def in_running_order(items: Sequence[pytest.Item]) -> list[pytest.Item]:
    """``items`` by unit, the longest units first, then the others by size."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(unit_of(item.nodeid), []).append(item)

    def rank(unit: str) -> tuple[int, int]:
        first = LONGEST.index(unit) if unit in LONGEST else len(LONGEST)
        return first, -len(units[unit])

    return [item for unit in sorted(units, key=rank) for item in units[unit]]


class UnitScheduling(LoadFileScheduling):
    """``--dist loadfile`` with the checkout installs as one unit, in collection order
    (which ``in_running_order`` made).

    NOTE: it must not hold work back from a worker whose long unit is unfinished: an
    xdist worker runs the last test it was given only once it gets the next one (pytest
    needs ``nextitem``) or is shut down, so holding back deadlocks the run.
    """

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
