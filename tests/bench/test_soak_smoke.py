"""The soak benchmark in smoke mode: the news site behind nginx answers every request of
two short slices, memory is sampled after each, and one and two workers are timed.

No timing or memory figure is asserted (a few seconds on a shared machine say nothing);
the lead's 10-minute run does. It needs nginx, PostgreSQL's binaries, Redis and wrk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("wrk_installed")  # tests/bench/conftest.py

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def soak(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.delitem(sys.modules, "soak", raising=False)
    import soak

    return soak


@pytest.mark.server
@pytest.mark.process
@pytest.mark.timeout(300)
def test_soak_smoke_run_answers_everything_and_samples_memory(soak: Any) -> None:
    report = soak.run_soak(soak.SMOKE)
    assert len(report.slices) == 2
    assert report.errors == 0, soak.markdown(report)
    for piece in report.slices:
        assert piece.requests > 0
        assert piece.p99_ms is not None
        assert piece.rss_mb > 50  # main process and worker(s), each a Python with the site
    assert report.rss_growth_pct is not None
    assert report.scaling["1 worker rps"] > 0
    assert report.scaling["2 worker rps"] > 0
    assert report.scaling["ratio"] > 0
    text = soak.markdown(report)
    assert "| minute | req/s | p50 ms | p99 ms |" in text
    assert "Scaling through nginx" in text
