"""bench/tfb.py's rounds: each cell keeps the median of its timings, whole."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def tfb(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    import tfb

    return tfb


def a_round(json_per_s: float, p99: float, *, rss: float, error: str = "") -> Any:
    import tfb
    from tfb_measure import Load

    row = tfb.TfbRow("kettle", "granian asgi", rss_idle_mb=rss, rss_after_mb=rss, rss_peak_mb=rss)
    row.tests["json"] = Load(requests_per_s=json_per_s, p99_ms=p99, error=error)
    row.tests["plaintext"] = Load(requests_per_s=json_per_s * 2)
    return row


def test_each_test_keeps_its_median_timing_with_that_timings_latency(tfb: ModuleType) -> None:
    rounds = [a_round(300, 3.0, rss=50), a_round(100, 9.0, rss=52), a_round(200, 5.0, rss=51)]
    rounds[0].cold_start_ms = 240.0
    row = tfb.median_row(rounds)
    assert row.tests["json"].requests_per_s == 200
    assert row.tests["json"].p99_ms == pytest.approx(5.0)
    assert row.tests["json"].rounds_per_s == [300, 100, 200]
    assert row.tests["plaintext"].requests_per_s == 400
    assert (row.cold_start_ms, row.rss_idle_mb, row.rss_after_mb) == (240.0, 50, 51)
    assert row.rss_peak_mb == 52


def test_an_even_count_keeps_the_lower_middle_and_a_failed_round_fails_the_cell(
    tfb: ModuleType,
) -> None:
    two = tfb.median_row([a_round(300, 1, rss=1), a_round(100, 1, rss=1)])
    assert two.tests["json"].requests_per_s == pytest.approx(100)
    failed = tfb.median_row([a_round(300, 1, rss=1), a_round(0, 0, rss=1, error="500 on /json")])
    assert failed.tests["json"].error == "500 on /json"
    assert not failed.ok
