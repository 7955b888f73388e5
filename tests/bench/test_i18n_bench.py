"""bench/i18n.py in smoke mode: every row renders and is timed (no timing is asserted:
the machine is shared and noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "i18n.py"


def test_i18n_bench_runs_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for row in ("render, untranslated", "render, translated", "render, formatted"):
        assert row in done.stdout
    assert "request, translated" in done.stdout
