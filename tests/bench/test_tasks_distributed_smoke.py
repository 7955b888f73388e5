"""The distributed-tasks benchmark in smoke mode: Kettle's and Dramatiq's rounds run a few
tasks to the end and the request-cost measure answers. No timing is asserted (these
machines are shared and noisy); Celery's round needs RabbitMQ and a worker process, and is
left to the real run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_tasks_distributed_smoke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("tasks_distributed", None)
    import tasks_distributed as bench

    for run in (bench.kettle_round, bench.dramatiq_round):
        got = run(40, 2)
        assert got["enqueue_ms"] > 0
        assert got["tasks_per_s"] > 0
        assert int(bench.counter.get(bench.COUNTER) or 0) == 40
    assert isinstance(bench.kettle_request_cost(5), float)
