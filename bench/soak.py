"""The news site soak: many connections through nginx for minutes, errors, p99 and memory.

    .venv/bin/python bench/soak.py                  # 256 connections, 10 minutes, 2 workers
    .venv/bin/python bench/soak.py --minutes 30 --connections 512
    .venv/bin/python bench/soak.py --smoke          # 2 slices of 3 s, 16 connections

The site runs as docs/deployment.md deploys it (tests/production/newsdeploy.py): nginx in
front of `kettle run --workers N` on a PostgreSQL primary and replica of its own and Redis.
wrk loads a mix of pages (the front page, /new, the API's front page and an article) one
minute at a time; after each minute the RSS of the `kettle run` process group (the main
process and its workers) is sampled. The first minute is the warm-up: memory growth is
measured from its end to the last minute's, and should stay under 5 %.

Then the same deployment is timed with one worker and with two (30 s each, after a 5 s
warm-up) for the scaling ratio of the machine it runs on. Results go to
results/raw/soak.json and are printed as Markdown. A test calls ``run_soak(SMOKE)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from run import RAW, parse_wrk
from tfb_measure import Load, _group, _status

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "production")]

from newsdeploy import Deployment, deployment  # noqa: E402 - from the tests, on the path above

#: Rankings kept as the site keeps them in production (15 s), pages rendered each time.
SITE_SETTINGS = {"KETTLE_NEWS_RANK_CACHE_SECONDS": "15"}
LUA = """\
local paths = {{"/", "/new", "/api/front", "/articles/{article}"}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


@dataclass(frozen=True)
class Settings:
    minutes: float = 10
    slice_seconds: int = 60  # one wrk run, then one RSS sample
    connections: int = 256
    workers: int = 2
    scaling_seconds: int = 30
    warmup_seconds: int = 5


SMOKE = Settings(minutes=0.1, slice_seconds=3, connections=16, scaling_seconds=3, warmup_seconds=1)


@dataclass
class Slice:
    """One slice of the soak: what wrk saw and the RSS after it."""

    minute: int
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    rss_mb: float


@dataclass
class Report:
    settings: Settings
    slices: list[Slice] = field(default_factory=list)
    #: Requests per second with 1 and 2 workers, and their ratio.
    scaling: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.slices)

    @property
    def rss_growth_pct(self) -> float | None:
        """RSS growth from the end of the warm-up (the first slice) to the last slice."""
        if len(self.slices) < 2:
            return None
        first, last = self.slices[0].rss_mb, self.slices[-1].rss_mb
        return round((last - first) / first * 100, 2)

    @property
    def p99_ms(self) -> float | None:
        """The worst slice's p99 (wrk reports percentiles per run)."""
        values = [s.p99_ms for s in self.slices if s.p99_ms is not None]
        return max(values) if values else None


def group_rss_mb(site: Deployment) -> float:
    """RSS of every process of the `kettle run` group (main process and workers), MiB."""
    popen = site.processes[0].popen
    assert popen is not None
    pids = _group(popen.pid)
    return round(sum(_status(pid).get("VmRSS", 0.0) for pid in pids) / 1024, 1)


def wrk(site: Deployment, script: Path, seconds: int, connections: int) -> Load:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["--latency", "-s", str(script), site.url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    result = Load()
    parse_wrk(done.stdout + done.stderr, result)  # type: ignore[arg-type]
    return result


def with_workers(site: Deployment, workers: int) -> None:
    """Restart the `kettle run` process with ``workers`` workers."""
    process = site.processes[0]
    at = process.command.index("--workers")
    process.command[at + 1] = str(workers)
    site.restart_process(0)


def run_soak(settings: Settings) -> Report:
    report = Report(settings)
    with tempfile.TemporaryDirectory(prefix="kettle-soak-") as folder:
        root = Path(folder)
        with deployment(
            root,
            users=10,
            articles=300,
            processes=1,
            workers=settings.workers,
            **SITE_SETTINGS,
        ) as site:
            script = root / "paths.lua"
            script.write_text(LUA.format(article=site.articles[0]))
            slices = int(settings.minutes * 60 // settings.slice_seconds)
            for n in range(slices):
                load = wrk(site, script, settings.slice_seconds, settings.connections)
                report.slices.append(
                    Slice(
                        minute=round((n + 1) * settings.slice_seconds / 60, 2),
                        requests_per_s=load.requests_per_s,
                        p50_ms=load.p50_ms,
                        p99_ms=load.p99_ms,
                        requests=load.requests,
                        errors=load.non_2xx + load.socket_errors + (0 if load.requests else 1),
                        rss_mb=group_rss_mb(site),
                    )
                )
                print(_row(report.slices[-1]), flush=True)
            for workers in (1, 2):
                with_workers(site, workers)
                wrk(site, script, settings.warmup_seconds, settings.connections)
                load = wrk(site, script, settings.scaling_seconds, settings.connections)
                report.scaling[f"{workers} worker rps"] = load.requests_per_s
            one, two = report.scaling["1 worker rps"], report.scaling["2 worker rps"]
            report.scaling["ratio"] = round(two / one, 2) if one else 0.0
    return report


def _row(s: Slice) -> str:
    return (
        f"| {s.minute} | {s.requests_per_s:.0f} | {s.p50_ms} | {s.p99_ms} | "
        f"{s.requests} | {s.errors} | {s.rss_mb} |"
    )


def markdown(report: Report) -> str:
    settings = report.settings
    lines = [
        f"Soak: {settings.connections} connections through nginx, {settings.workers} "
        f"workers, {settings.minutes} min in slices of {settings.slice_seconds} s.",
        "",
        "| minute | req/s | p50 ms | p99 ms | requests | errors | RSS MiB |",
        "|---|---|---|---|---|---|---|",
        *(_row(s) for s in report.slices),
        "",
        f"Errors: {report.errors}. Worst p99: {report.p99_ms} ms. RSS growth after the "
        f"warm-up: {report.rss_growth_pct} %.",
        f"Scaling through nginx: 1 worker {report.scaling.get('1 worker rps')} req/s, "
        f"2 workers {report.scaling.get('2 worker rps')} req/s, ratio "
        f"{report.scaling.get('ratio')}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, to check it works")
    parser.add_argument("--minutes", type=float, default=Settings.minutes)
    parser.add_argument("--connections", type=int, default=Settings.connections)
    parser.add_argument("--workers", type=int, default=Settings.workers)
    args = parser.parse_args()
    settings = (
        SMOKE
        if args.smoke
        else Settings(minutes=args.minutes, connections=args.connections, workers=args.workers)
    )
    started = time.monotonic()
    report = run_soak(settings)
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / "soak.json").write_text(json.dumps(dataclasses.asdict(report), indent=2))
    print(markdown(report))
    print(f"({time.monotonic() - started:.0f} s in all; results/raw/soak.json)")


if __name__ == "__main__":
    main()
