"""The benchmark harness in smoke mode: every app answers correctly and gets timed.

No timing is asserted (these machines are shared and noisy); the test keeps the harness,
its response checks and its apps working.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("wrk_installed")  # tests/bench/conftest.py

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.server
def test_hello_smoke_run_verifies_and_times_every_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("run", None)
    import run

    rows = run.run_hello(smoke=True)

    assert {row.framework for row in rows} >= {"raw ASGI", "kettle", "starlette", "fastapi"}
    failed = {row.framework: row.error for row in rows if not row.ok}
    assert failed == {}
    assert all(row.requests_per_s and row.requests_per_s > 0 for row in rows)
