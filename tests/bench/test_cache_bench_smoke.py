"""bench/cache.py in smoke mode: every row is measured against the machine's Redis (no
timing is asserted: the machine is shared and noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cache.py"


def test_cache_bench_runs_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--ops", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for row in ("get (def)", "aset (async), CPU", "get (memory://)", "redis", "database"):
        assert row in done.stdout
    assert "signed cookie" in done.stdout
