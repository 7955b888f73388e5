"""The TechEmpower Framework Benchmarks' six test types: Kettle against its peers, one run.

    python3 bench/tfb.py            # every implementation on both its servers (~55 minutes)
    python3 bench/tfb.py --smoke    # 1 s per test, every answer checked; writes to results/raw/
    python3 bench/tfb.py --only kettle,raw --tests db,fortunes --duration 10
    python3 bench/tfb.py --servers  # raw ASGI and Kettle on each Granian/uvicorn configuration

Plaintext, JSON, one query, 20 queries, fortunes and 20 updates, for Kettle (as its docs
teach, its fastest documented path, and with `def` handlers on the sync ORM), Flask,
Django, FastAPI, Starlette, Emmett, BlackSheep, Litestar and a raw ASGI app, on Granian,
uvicorn and gunicorn; plus import time, cold start and worker memory.
Standard library only, like run.py: it builds bench/.venv and runs servers from there.
A test can import this file and call `run_tfb(smoke=True)` to get the verified rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import run
import tfb_report
from run import RAW, RESULTS
from tfb_checks import verify
from tfb_measure import Load, Started, load
from tfb_specs import (
    APPS,
    BENCH,
    IMPLEMENTATIONS,
    KETTLE,
    NO_DATABASE,
    TESTS,
    Implementation,
    Server,
    TestType,
    combinations,
)
from tfb_specs import RAW as RAW_ASGI

TEST_NAMES = [test.name for test in TESTS]

SERVER_URL = os.environ.get("KETTLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "kettle_tfb"
VERSIONED = (
    "kettle", "starlette", "fastapi", "flask", "django", "sqlalchemy", "asyncpg", "psycopg",
    "jinja2", "granian", "uvicorn", "gunicorn", "httptools", "uvloop", "rloop", "emmett",
    "emmett-pydal", "psycopg2-binary", "blacksheep", "litestar", "advanced-alchemy",
)  # fmt: skip
REFERENCE_SERVER = "granian asgi"  # ratios compare with raw ASGI and Kettle on this server


class NoServer(RuntimeError):
    """PostgreSQL is not reachable at KETTLE_BENCH_POSTGRES."""


@dataclass(frozen=True)
class Settings:
    duration: int = 5  # seconds of timed load per test
    warmup: int = 2  # seconds of untimed load before each
    cold_starts: int = 3  # server starts per pair; the median time to the first 200
    import_runs: int = 20
    retries: int = 2  # more timings of a test that other processes disturbed; quietest kept
    # Passes over every (implementation, server) pair; each cell keeps its median timing.
    # NOTE: rounds, not longer timings: a shared machine's speed drifts over minutes, and
    # one pass would give that drift to whichever implementation was running then.
    rounds: int = 3
    tests: tuple[str, ...] = ()  # the test types to time (names from TESTS); () is all six


SMOKE = Settings(duration=1, warmup=0, cold_starts=1, import_runs=3, retries=0, rounds=1)
NOISY_PCT = 15.0  # other CPU (in % of one core) above which a timing is retried
BUSY_RETRIES = 120  # attempts of a database command while PostgreSQL has no free connection


@dataclass
class TfbRow:
    implementation: str
    server: str
    description: str = ""
    error: str = ""  # why it was not (fully) timed
    tests: dict[str, Load] = field(default_factory=dict)
    import_ms: float | None = None
    cold_start_ms: float | None = None  # median spawn-to-first-200 on /json
    cold_starts_ms: list[float] = field(default_factory=list)
    rss_idle_mb: float | None = None  # the worker after its first response
    rss_after_mb: float | None = None  # after every test's load
    rss_peak_mb: float | None = None

    @property
    def ok(self) -> bool:
        return not self.error and all(not t.error for t in self.tests.values())


# ---------------------------------------------------------------- database


def _url(database: str) -> str:
    return SERVER_URL.rstrip("/") + "/" + database


def db_tool(command: str, url: str, *args: str) -> Any:
    """Run tfb_db.py COMMAND on bench/.venv's interpreter and return its JSON answer.

    NOTE: on a shared server other clients can use up PostgreSQL's connections for a
    moment ("too many clients already"); that is waited out (up to 2 minutes), not reported
    as a missing server, which would end the whole run.
    """
    for _ in range(BUSY_RETRIES):
        proc = subprocess.run(
            [str(run.PY), str(BENCH / "tfb_db.py"), command, url, *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        answer = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        if proc.returncode != 3 or "too many clients" not in str(answer.get("error")):
            break
        time.sleep(1)
    if proc.returncode == 3:
        raise NoServer(
            f"{answer.get('error')}. Start PostgreSQL, or set KETTLE_BENCH_POSTGRES to a "
            "server where this user may create databases."
        )
    if proc.returncode != 0:
        raise RuntimeError(f"tfb_db.py {command} failed: {run._error_line(proc.stderr)}")
    return answer


def _world(url: str) -> dict[int, int]:
    return {int(pk): number for pk, number in db_tool("rows", url).items()}


# ---------------------------------------------------------------- measuring


def measure(impl: Implementation, server: Server, url: str, settings: Settings) -> TfbRow:
    """Start IMPL on SERVER (cold starts timed), verify all six answers, then load each."""
    row = TfbRow(impl.name, server.label, impl.description)
    env = {**impl.env, "DATABASE_URL": url}
    log = RAW / f"tfb-{impl.module.split('.')[0]}-{server.slug}.log"
    started = None
    try:
        for attempt in range(settings.cold_starts):
            port = run._free_port()
            started = Started(server.command(impl.target, port), APPS, env, log)
            ms = started.first_response_ms(port)
            if ms is None:
                row.error = f"no 200 on /json within 60 s (log {log.relative_to(BENCH)}): "
                row.error += run._error_line(log.read_text())
                return row
            row.cold_starts_ms.append(ms)
            if attempt < settings.cold_starts - 1:
                started.stop()
        row.cold_start_ms = statistics.median(row.cold_starts_ms)
        row.rss_idle_mb, _ = started.worker_memory_mb()
        problems = verify(port, lambda: _world(url), server.database)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            row.error = "refused to time: " + "; ".join(problems[:3]) + more
            return row
        for test in selected_tests(settings, server):
            row.tests[test.name] = timed(test.path, port, started.proc.pid, settings)
        row.rss_after_mb, row.rss_peak_mb = started.worker_memory_mb()
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, NoServer) as error:
        # NOTE: NoServer here is PostgreSQL gone mid-run: this pair fails, the run goes on.
        row.error = f"{type(error).__name__}: {error}"
    finally:
        if started is not None:
            started.stop()
    return row


def selected_tests(settings: Settings, server: Server | None = None) -> list[TestType]:
    """The test types SETTINGS times (on SERVER), in TESTS order; every one is still checked
    (on a server that cannot reach the database: plaintext and JSON only)."""
    return [
        test
        for test in TESTS
        if (not settings.tests or test.name in settings.tests)
        and (server is None or server.database or test.name in NO_DATABASE)
    ]


def median_row(measured: list[TfbRow]) -> TfbRow:
    """One row from a pair's rounds: each test's median timing by requests/s (the lower
    middle one of an even count), whole, so its latencies and CPU belong to it; start-up
    from the first round, memory after load from the last. A failed round fails the row."""
    first, last = measured[0], measured[-1]
    row = TfbRow(first.implementation, first.server, first.description)
    row.cold_start_ms, row.cold_starts_ms = first.cold_start_ms, first.cold_starts_ms
    row.rss_idle_mb, row.rss_after_mb = first.rss_idle_mb, last.rss_after_mb
    peaks = [r.rss_peak_mb for r in measured if r.rss_peak_mb is not None]
    row.rss_peak_mb = max(peaks) if peaks else None
    row.error = next((r.error for r in measured if r.error), "")
    for name in first.tests:
        loads = [r.tests[name] for r in measured if name in r.tests]
        if failed := [t for t in loads if t.error]:
            row.tests[name] = failed[0]
            continue
        ranked = sorted(loads, key=lambda t: t.requests_per_s)
        chosen = ranked[(len(ranked) - 1) // 2]
        chosen.rounds_per_s = [round(t.requests_per_s) for t in loads]
        row.tests[name] = chosen
    return row


def timed(path: str, port: int, pgid: int, settings: Settings) -> Load:
    """Load PATH; while other processes took more than NOISY_PCT of a core, time it again
    (up to `settings.retries` times) and keep the quietest timing.

    NOTE: the machine is shared; pinning keeps wrk off the server's core but not a test
    suite that someone else runs, and such a timing says more about them than about us.
    """
    best = load(port, path, settings.duration, settings.warmup, pgid)
    for _ in range(settings.retries):
        if (best.other_cpu_pct or 0) <= NOISY_PCT:
            break
        again = load(port, path, settings.duration, 0, pgid)
        again.attempts = best.attempts + 1
        if (again.other_cpu_pct or 0) < (best.other_cpu_pct or 0):
            best = again
        else:
            best.attempts = again.attempts
    return best


def import_times(impls: list[Implementation], url: str, runs: int) -> dict[str, Any]:
    """Median ms of importing each app module (framework, ORM, building the app), minus the
    interpreter's start; interleaved as run.py's import times are. {name: ms or error}."""
    prefix = f"import sys; sys.path.insert(0, {str(APPS)!r})"
    jobs = {prefix: {}} | {
        f"{prefix}; import {impl.module}": {**impl.env, "DATABASE_URL": url} for impl in impls
    }
    samples: dict[str, list[float]] = {code: [] for code in jobs}
    failures: dict[str, str] = {}
    for code, env in jobs.items():  # once untimed: writes the .pyc files, finds failures
        failures |= run._time_python(code, env, [])
    for _ in range(runs):
        for code, env in jobs.items():
            if code not in failures:
                failures |= run._time_python(code, env, samples[code])
    base = statistics.median(samples[prefix]) if samples[prefix] else 0.0
    result: dict[str, Any] = {}
    for impl, code in zip(impls, list(jobs)[1:], strict=True):
        if code in failures:
            result[impl.name] = failures[code]
        else:
            result[impl.name] = round(statistics.median(samples[code]) - base, 1)
    return result


def ratios(rows: list[TfbRow]) -> None:
    """Each test's requests/s against raw ASGI's and Kettle's, both on REFERENCE_SERVER."""
    for test in TESTS:
        by_name = {
            (r.implementation, r.server): r.tests.get(test.name)
            for r in rows
            if r.tests.get(test.name) and not r.tests[test.name].error
        }
        raw, kettle = (
            by_name.get((RAW_ASGI, REFERENCE_SERVER)),
            by_name.get((KETTLE, REFERENCE_SERVER)),
        )
        for result in by_name.values():
            if result and raw:
                result.ratio_to_raw = round(result.requests_per_s / raw.requests_per_s, 3)
            if result and kettle:
                result.ratio_to_kettle = round(result.requests_per_s / kettle.requests_per_s, 3)


def machine_info(postgresql: str) -> dict[str, Any]:
    machine = run.machine_info()
    probe = (
        "import importlib.metadata as m, json\n"
        "def v(name):\n"
        "    try: return m.version(name)\n"
        "    except m.PackageNotFoundError: return None\n"
        f"print(json.dumps({{n: v(n) for n in {VERSIONED!r}}}))"
    )
    machine["versions"] = json.loads(run._venv_python(probe).stdout)
    machine["postgresql"] = postgresql
    return machine


def estimate_s(pairs: int, impls: int, settings: Settings) -> float:
    timing = 3 + len(selected_tests(settings)) * (settings.duration + settings.warmup + 0.3)
    per_pair = settings.cold_starts * 1.5 + timing + (settings.rounds - 1) * (1.5 + timing)
    return pairs * per_pair + (settings.import_runs + 1) * (impls + 1) * 0.35 + 10


# ---------------------------------------------------------------- command


def run_tfb(
    smoke: bool = False,
    settings: Settings | None = None,
    only: list[str] | None = None,
    write: bool = True,
    servers: bool = False,
    out: Path | None = None,
) -> list[TfbRow]:
    """Fill the database, then measure every (implementation, server) pair; return the rows.

    A smoke run (1 s per test, a subset of servers, every implementation checked) uses a
    database of its own, dropped afterwards, and writes to results/raw/. SERVERS measures
    raw ASGI and Kettle (or the ASGI implementations in ONLY) on every configuration of
    tfb_specs.SERVER_MATRIX and writes tfb_servers.md/.json instead of tfb.md. OUT is
    where the results go: by default results/ for a full run, results/raw/ for a smoke
    run or a subset (ONLY or `settings.tests`), so a partial run never replaces the full
    table. Raises NoServer when PostgreSQL cannot be reached.
    """
    settings = settings or (SMOKE if smoke else Settings())
    kettle_error = run.ensure_venv()
    url = _url(f"{DATABASE}_smoke_{os.getpid()}" if smoke else DATABASE)
    filled = db_tool("fill", url)
    try:
        machine = machine_info(filled["postgresql"])
        pairs = combinations(smoke, only, servers)
        impls = list(dict.fromkeys(impl for impl, _ in pairs))
        minutes = estimate_s(len(pairs), len(impls), settings) / 60
        retried = ", more where other processes disturb a timing" if settings.retries else ""
        print(
            f"tfb: {settings.rounds} x {len(pairs)} server runs x "
            f"{len(selected_tests(settings))} tests x "
            f"({settings.warmup} s warm-up + {settings.duration} s), plus import and cold-start "
            f"timing: about {minutes:.1f} minutes{retried}",
            flush=True,
        )
        imported = import_times(impls, url, settings.import_runs)
        passes: list[list[TfbRow]] = [[] for _ in pairs]
        for round_ in range(settings.rounds):
            # Cold starts are timed in the first round only.
            these = settings if round_ == 0 else replace(settings, cold_starts=1)
            for (impl, server), measured in zip(pairs, passes, strict=True):
                if measured and measured[0].error:
                    continue  # failed once: not timed again
                label = f" (round {round_ + 1} of {settings.rounds})" * (settings.rounds > 1)
                print(f"tfb: {impl.name} on {server.label}{label} ...", flush=True)
                measured.append(measure(impl, server, url, these))
                print(f"tfb:   {tfb_report.summary(measured[-1])}", flush=True)
        rows = []
        for (impl, _server), measured in zip(pairs, passes, strict=True):
            row = median_row(measured)
            found = imported.get(impl.name)
            if isinstance(found, float):
                row.import_ms = found
            elif found and not row.error:
                row.error = found
            if row.error and impl.env.get("KETTLE_ENV") and kettle_error:
                row.error += f"; pip install -e .. failed: {kettle_error}"
            rows.append(row)
    finally:
        if smoke:
            db_tool("drop", url)
    ratios(rows)
    if noisy := sorted(
        {r.implementation for r in rows for t in r.tests.values() if (t.other_cpu_pct or 0) > 10}
    ):
        print(f"tfb: warning: other processes used the CPU while timing {', '.join(noisy)}")
    if write:
        options = {**settings.__dict__, "smoke": smoke, "connections": run.CONNECTIONS}
        options["noisy_pct"] = NOISY_PCT
        options |= {"server_cpu": run.SERVER_CPU, "wrk_cpu": run.CLIENT_CPU, "database": url}
        options |= {"servers": servers, "only": only or [], "tests": list(settings.tests)}
        out = out or (RAW if smoke or only or settings.tests else RESULTS)
        stem = "tfb_servers" if servers else "tfb"
        tfb_report.write(rows, machine, options, out, stem)
        if chart_error := tfb_report.chart(out, stem):
            print(f"tfb: no chart: {chart_error}")
        print(f"tfb: results in {out / stem}.md")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="1 s per test, results to raw/")
    parser.add_argument("--duration", type=int, default=Settings.duration, help="seconds (5)")
    parser.add_argument("--warmup", type=int, default=Settings.warmup, help="seconds (2)")
    parser.add_argument("--rounds", type=int, default=Settings.rounds, help="passes (3)")
    parser.add_argument(
        "--retries",
        type=int,
        default=Settings.retries,
        help="more timings of a test that other processes disturbed (2); 0 on a busy machine",
    )
    parser.add_argument("--only", help="comma-separated implementations, e.g. raw,kettle")
    parser.add_argument(
        "--tests", help=f"comma-separated test types to time, of {','.join(TEST_NAMES)}"
    )
    parser.add_argument(
        "--servers",
        action="store_true",
        help="raw ASGI and Kettle on each Granian and uvicorn configuration (tfb_servers.md)",
    )
    parser.add_argument("--out", type=Path, help="results folder (results/, or raw/ for subsets)")
    args = parser.parse_args(argv)
    tests = tuple(args.tests.split(",")) if args.tests else ()
    if unknown := [name for name in tests if name not in TEST_NAMES]:
        parser.error(f"--tests: unknown {', '.join(unknown)}; choose from {','.join(TEST_NAMES)}")
    only = args.only.split(",") if args.only else None
    if only and not combinations(args.smoke, only, args.servers):
        names = ", ".join(impl.name for impl in IMPLEMENTATIONS)
        parser.error(f"--only {args.only} names no implementation; they are: {names}")
    settings = replace(
        SMOKE
        if args.smoke
        else Settings(args.duration, args.warmup, rounds=args.rounds, retries=args.retries),
        tests=tests,
    )
    try:
        rows = run_tfb(args.smoke, settings, only, servers=args.servers, out=args.out)
    except NoServer as error:
        print(f"tfb: {error}")
        return 1
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
