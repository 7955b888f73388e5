"""The ORM benchmark in smoke mode: every case answers with the inserted rows and gets timed.

No timing is asserted (these machines are shared and noisy); the test keeps bench/orm.py,
its answer checks and the ten implementations working as kettle.db changes. It needs
PostgreSQL (KETTLE_BENCH_POSTGRES): without one it skips loudly, and under CI (CI=true) fails.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.server
def test_orm_smoke_run_checks_and_times_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("orm", None)
    import orm

    try:
        rows = orm.run_orm(smoke=True)
    except orm.NoServer as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL for the ORM benchmark: {error}")
        warnings.warn(f"SKIPPING the ORM benchmark smoke test: {error}", stacklevel=1)
        pytest.skip(f"no PostgreSQL server here (set CI=true to make this an error): {error}")

    failed = {(r.query, r.mode, r.implementation): r.error for r in rows if not r.ok}
    assert failed == {}
    assert {(r.query, r.mode) for r in rows} == {
        (query, mode) for query in ("get", "list") for mode in ("sync", "async")
    }
    assert len(rows) == 20
    assert all(r.us_per_op and r.us_per_op > 0 for r in rows)
    orm_rows = [r for r in rows if r.implementation.startswith("Kettle ORM")]
    assert all(r.ratio_to_raw and r.ratio_to_core for r in orm_rows)
    assert (BENCH / "results" / "raw" / "orm.md").exists()
