"""The TechEmpower-style run in smoke mode: every implementation answers all six test types
by the rules, and every (implementation, server) pair it starts gets timed.

No timing is asserted (these machines are shared and noisy); the test keeps bench/tfb.py,
its checks and its apps working as Kettle and the pinned peers change: Kettle's three rows
(as the docs teach, asyncpg, `def` handlers on the sync ORM), Starlette, FastAPI, Flask,
Django, Emmett (on Granian's RSGI), BlackSheep, Litestar and the raw ASGI app. It needs
PostgreSQL (KETTLE_BENCH_POSTGRES): without one it skips loudly, and under CI (CI=true)
fails. The peers come from bench/requirements.txt, installed into bench/.venv by the run.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("wrk_installed")  # tests/bench/conftest.py

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.server
@pytest.mark.timeout(600)
def test_tfb_smoke_run_verifies_and_times_every_implementation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    for name in [m for m in sys.modules if m == "run" or m.startswith("tfb")]:
        sys.modules.pop(name)
    import tfb
    import tfb_specs

    try:
        rows = tfb.run_tfb(smoke=True)
    except tfb.NoServer as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL for the TechEmpower benchmark: {error}")
        warnings.warn(f"SKIPPING the TechEmpower benchmark smoke test: {error}", stacklevel=1)
        pytest.skip(f"no PostgreSQL server here (set CI=true to make this an error): {error}")

    # Correctness is asserted: every implementation started and answered by the rules.
    refused = {(r.implementation, r.server): r.error for r in rows if r.error}
    assert refused == {}
    assert {r.implementation for r in rows} == {i.name for i in tfb_specs.IMPLEMENTATIONS}
    servers = {"granian asgi", "granian rsgi", "granian wsgi", "uvicorn", "gunicorn"}
    assert {r.server for r in rows} >= servers
    for row in rows:
        assert list(row.tests) == [t.name for t in tfb_specs.TESTS]
        # NOTE: timing is not: a one-second load on a busy 2-core machine may finish no
        # request of a slow test type, which says nothing about the harness.
        assert any(t.requests_per_s for t in row.tests.values())
        assert row.cold_start_ms
        assert row.rss_idle_mb
        assert row.import_ms
    raw = BENCH / "results" / "raw"
    saved = json.loads((raw / "tfb.json").read_text())
    assert saved["settings"]["smoke"] is True
    assert len(saved["rows"]) == len(rows)
    assert (raw / "tfb.md").exists()
    assert (raw / "tfb.png").read_bytes().startswith(b"\x89PNG")
