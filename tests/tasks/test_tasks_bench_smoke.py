"""bench/tasks.py in smoke mode on SQLite, and bench/tasks_distributed.py's requests through
a real server: every measure runs and answers (no timing is asserted; the machines are
shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_tasks_benchmark_runs_every_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("tasks", None)
    import tasks as bench  # bench/tasks.py

    (row,) = bench.run(["sqlite"], count=200, concurrency=4, batches=1, batch=20)
    assert row["def_tasks_per_s"] > 0
    assert row["async_tasks_per_s"] > 0
    assert row["enqueue_in_unit_us"] > 0
    assert "| sqlite |" in bench.report([row], 200, 4)


def test_the_distributed_benchmark_serves_every_route_through_granian(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("tasks_distributed", None)
    import tasks_distributed as bench  # bench/tasks_distributed.py (Redis on 6379)

    costs = bench.server_request_cost(requests=5, rounds=1, folder=tmp_path)  # 200s or exit
    assert set(costs) == set(bench.ROUTES)
    assert all(got["plain_ms"] > 0 for got in costs.values())
