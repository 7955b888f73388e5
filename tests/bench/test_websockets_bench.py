"""bench/websockets_bench.py in smoke mode: every app (bare ASGI, Starlette, Kettle) is
served by Granian, answers the echo and the fan-out correctly, and gets a number (no
timing is asserted: the machine is shared and noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.server
@pytest.mark.timeout(600)
def test_websockets_bench_smoke_measures_every_app() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "websockets_bench.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=590,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = json.loads((BENCH / "results" / "raw" / "websockets.json").read_text())
    assert saved["settings"]["smoke"] is True
    rows = {row["app"]: row for row in saved["rows"]}
    assert list(rows) == ["raw", "starlette", "kettle"]
    for row in rows.values():
        assert row["error"] == ""
        assert row["echo_per_s"] > 0
        assert row["fanout_per_s"] > 0
    assert "| kettle |" in done.stdout
