"""kettle.db's overhead: two queries through the raw driver, SQLAlchemy Core and the ORM.

    python3 bench/orm.py            # every case, sync and async (about 3 minutes)
    python3 bench/orm.py --smoke    # a few queries each, answers checked; writes to results/raw/

Needs an interpreter that imports kettle, psycopg and asyncpg (the project's .venv) and a
PostgreSQL server (KETTLE_BENCH_POSTGRES, default postgres@127.0.0.1:5432). The cases live
in ormcases.py. A test can import this file and call `run_orm(smoke=True)` to get the
verified rows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from run import RAW, RESULTS, _kettle_source  # standard library only, like this module

SERVER = os.environ.get("KETTLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "kettle_bench"
VERSIONED = ("kettle", "sqlalchemy", "psycopg", "asyncpg")
CHECKED_IDS = (1, 4242, 10_000)
TIMES = "\N{MULTIPLICATION SIGN}"

if TYPE_CHECKING:  # ormcases imports SQLAlchemy and the drivers; it is loaded by run_orm()
    from ormcases import Impl

Ready = Callable[[], object]


@dataclass(frozen=True)
class Settings:
    iterations: int = 2000  # timed queries per batch
    repeats: int = 5  # batches per case, interleaved; the median is reported
    warmup: int = 200  # untimed queries at the start of every batch


SMOKE = Settings(iterations=20, repeats=1, warmup=5)


class NoServer(RuntimeError):
    """PostgreSQL is not reachable at KETTLE_BENCH_POSTGRES."""


@dataclass
class OrmRow:
    query: str  # "get": one row by primary key; "list": the 20 newest rows
    mode: str  # "sync" or "async"
    implementation: str
    error: str = ""
    us_per_op: float | None = None  # median over the repeats
    ratio_to_raw: float | None = None
    ratio_to_core: float | None = None  # per-request rows: against Core per request
    spread_pct: float | None = None  # (max - min) / median over the repeats
    samples_us: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def per_request(self) -> bool:
        return self.implementation.endswith("per request")


# ---------------------------------------------------------------- timing
# PERF: the loops drop every answer at once. kettle.db's session holds clean objects by weak
# reference only, so each query of a held unit of work builds fresh objects, as a request's
# first query does; keeping the last list alive would let the identity map hand the same
# 20 objects back and flatter the ORM.


def _batch_sync(impl: Impl, query: str, warm: list[int], timed: list[int], ready: Ready) -> int:
    """Run WARM queries, call READY(), run TIMED ones; return the nanoseconds TIMED took."""
    op = impl.ops[query]
    with impl.unit() as handle:
        for pk in warm:
            op(handle, pk)
        ready()
        start = time.perf_counter_ns()
        for pk in timed:
            op(handle, pk)
        return time.perf_counter_ns() - start


async def _batch_async(
    impl: Impl, query: str, warm: list[int], timed: list[int], ready: Ready
) -> int:
    """`_batch_sync` for the async implementations."""
    op = impl.ops[query]
    async with impl.unit() as handle:
        for pk in warm:
            await op(handle, pk)
        ready()
        start = time.perf_counter_ns()
        for pk in timed:
            await op(handle, pk)
        return time.perf_counter_ns() - start


def _answer(runner: asyncio.Runner, impl: Impl, query: str, pk: int) -> Any:
    """What one query returns, with its unit of work opened and closed around it."""

    async def one_async() -> Any:
        async with impl.unit() as handle:
            return await impl.ops[query](handle, pk)

    if impl.mode == "async":
        return runner.run(one_async())
    with impl.unit() as handle:
        return impl.ops[query](handle, pk)


def _check(runner: asyncio.Runner, impl: Impl, query: str) -> str:
    """Why IMPL answers QUERY wrongly (against the inserted data), or ""."""
    import ormcases

    for pk in CHECKED_IDS if query == "get" else (0,):
        got = ormcases.normal(_answer(runner, impl, query, pk))
        if got != (want := ormcases.expected(query, pk)):
            return f"{query}({pk}) answered {str(got)[:120]}, expected {str(want)[:120]}"
    return ""


def _error(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _measure(
    runner: asyncio.Runner, impls: list[Impl], settings: Settings, ready: Ready
) -> list[OrmRow]:
    """Check every case's answers, then time them, interleaved, the order rotated each repeat;
    READY() runs in each batch between its warm-up and its timed queries."""
    from ormcases import IDS

    cases = [(impl, query) for query in ("get", "list") for impl in impls]
    rows = [OrmRow(query, impl.mode, impl.name) for impl, query in cases]
    for (impl, query), row in zip(cases, rows, strict=True):
        try:
            row.error = _check(runner, impl, query)
        except Exception as error:
            row.error = _error(error)
        if row.error:
            print(f"orm: {query} {impl.mode} {impl.name}: not timed, {row.error}", flush=True)
    pks = [IDS[i % len(IDS)] for i in range(settings.warmup + settings.iterations)]
    warm, timed = pks[: settings.warmup], pks[settings.warmup :]
    for repeat in range(settings.repeats):
        shift = repeat * len(cases) // settings.repeats
        for index in [*range(shift, len(cases)), *range(shift)]:
            (impl, query), row = cases[index], rows[index]
            if row.error:
                continue
            gc.collect()
            try:
                if impl.mode == "sync":
                    ns = _batch_sync(impl, query, warm, timed, ready)
                else:
                    ns = runner.run(_batch_async(impl, query, warm, timed, ready))
            except Exception as error:
                row.error = _error(error)
                continue
            row.samples_us.append(round(ns / len(timed) / 1000, 2))
        print(f"orm: repeat {repeat + 1}/{settings.repeats} done", flush=True)
    for row in rows:
        if row.ok and row.samples_us:
            row.us_per_op = round(statistics.median(row.samples_us), 1)
            spread = max(row.samples_us) - min(row.samples_us)
            row.spread_pct = round(spread / row.us_per_op * 100, 1)
    _ratios(rows)
    return rows


def _ratios(rows: list[OrmRow]) -> None:
    """Ratio to raw: against the driver holding a connection; to Core: against Core holding
    one, or against Core per request for per-request rows."""
    for row in rows:
        same = {
            r.implementation: r.us_per_op
            for r in rows
            if (r.query, r.mode) == (row.query, row.mode)
        }
        raw = same.get("psycopg") or same.get("asyncpg")
        core = same.get("SQLAlchemy Core" + ", per request" * row.per_request)
        if row.us_per_op and raw:
            row.ratio_to_raw = round(row.us_per_op / raw, 2)
        if row.us_per_op and core and "Core" not in row.implementation:
            row.ratio_to_core = round(row.us_per_op / core, 2)


# ---------------------------------------------------------------- database and machine


def _url(database: str) -> str:
    from sqlalchemy import make_url

    url = make_url(SERVER).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def _admin(sql: str, *params: Any) -> list[Any]:
    """Run SQL on the server's `postgres` database (autocommit); NoServer if unreachable."""
    import psycopg

    try:
        conn = psycopg.connect(_url("postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise NoServer(
            f"PostgreSQL is not reachable at {SERVER} ({_error(error)}). Start it, or set "
            "KETTLE_BENCH_POSTGRES to the URL of a server where this user may create databases."
        ) from error
    with conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def _pin_backends(database: str, cpu: int) -> bool:
    """Pin the PostgreSQL backends serving DATABASE to CPU; False where this is not allowed.

    NOTE: on a VM, a round trip to a backend that sleeps on the other core costs about
    twice one to a backend on the client's core, and the scheduler places each new backend
    anew, which made raw-driver batches jump between ~50 and ~100 µs. Pinned, every case
    pays the same round trip.
    """
    pinned = 0
    try:
        for (pid,) in _admin("SELECT pid FROM pg_stat_activity WHERE datname = %s", database):
            # Only local postgres processes: a server in a container has other pids.
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                os.sched_setaffinity(pid, {cpu})
                pinned += 1
    except OSError:
        return False
    return pinned > 0


def machine_info(db: Any) -> dict[str, Any]:
    cpu, cpuinfo = "unknown", Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    with db.sync_engine.connect() as conn:
        postgresql = conn.exec_driver_sql("SHOW server_version").scalar()
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "node": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgresql,
        "versions": {name: version(name) for name in VERSIONED},
        "kettle_source": _kettle_source(),
    }


# ---------------------------------------------------------------- commands


def run_orm(
    smoke: bool = False, settings: Settings | None = None, write: bool = True
) -> list[OrmRow]:
    """Fill the database, check every case's answers, time them; return the rows.

    A smoke run uses a database of its own (dropped afterwards) and writes to results/raw/.
    Raises NoServer when PostgreSQL cannot be reached.
    """
    import ormcases

    from kettle.db import Database

    settings = settings or (SMOKE if smoke else Settings())
    name = f"kettle_bench_smoke_{os.getpid()}" if smoke else DATABASE
    if not _admin("SELECT 1 FROM pg_database WHERE datname = %s", name):
        _admin(f'CREATE DATABASE "{name}"')
    db = Database(url=_url(name))
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else set()
    try:
        ormcases.fill(db.sync_engine)
        machine = machine_info(db)
        pinned: list[bool] = []
        if affinity:
            machine["pinned_cpu"] = cpu = max(affinity)
            os.sched_setaffinity(0, {cpu})
        ready = (lambda: pinned.append(_pin_backends(name, cpu))) if affinity else lambda: None
        with asyncio.Runner() as runner:
            try:
                rows = _measure(runner, ormcases.implementations(db), settings, ready)
            finally:
                runner.run(db.adispose())
        machine["backends_pinned"] = bool(pinned) and all(pinned)
    finally:
        if affinity:
            os.sched_setaffinity(0, affinity)
        db.dispose()
        if smoke:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    machine["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    if write:
        options = asdict(settings) | {"smoke": smoke, "rows": ormcases.ROWS}
        _write(rows, machine, options, RAW if smoke else RESULTS)
    return rows


def _ratio_text(row: OrmRow) -> str:
    ratios = [f"{row.ratio_to_raw:.1f}{TIMES} raw"] if row.ratio_to_raw else []
    if row.ratio_to_core:
        ratios.append(f"{row.ratio_to_core:.1f}{TIMES} Core" + " per request" * row.per_request)
    return ", ".join(ratios)


def _summary(row: OrmRow) -> str:
    ratios = f" ({_ratio_text(row)})" if row.ratio_to_raw else ""
    return f"ERROR {row.error}" if row.error else f"{row.us_per_op:.1f} µs/op{ratios}"


def _write(
    rows: list[OrmRow], machine: dict[str, Any], settings: dict[str, Any], out: Path
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine, "settings": settings, "rows": [asdict(r) for r in rows]}
    (out / "orm.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    backends = (
        "its PostgreSQL backends too" if machine.get("backends_pinned") else "not its backends"
    )
    lines = [
        "# ORM overhead: kettle.db against SQLAlchemy Core and the raw driver",
        "",
        f"Measured {machine['date_utc']} on `{machine['node']}`: {machine['cpu']}, "
        f"{machine['cores']} cores, {machine['os']}, Python {machine['python']}, PostgreSQL "
        f"{machine['postgresql']} on the same machine. Packages: {versions}; Kettle at "
        f"{machine['kettle_source']}. Load average {machine['load_average_1m']} before, "
        f"{machine['load_average_1m_after']} after.",
        "",
        f"µs per query: the median of {settings['repeats']} interleaved batches of "
        f"{settings['iterations']} queries (each after {settings['warmup']} untimed ones) over "
        f"{settings['rows']:,} rows. Pinned to core {machine.get('pinned_cpu')}: "
        f"the benchmark, {backends}. *get*: one row by primary key; *list*: the 20 "
        "newest. Plain rows hold one connection or Kettle unit of work for a batch; *per "
        "request* rows open, query, commit and close each time. Core runs on Kettle's own "
        f"engines. *{TIMES} raw*: against the driver; *{TIMES} Core*: against Core (per "
        "request for per-request rows). *Spread*: (max - min) / median over the batches; "
        "above ~10% the machine was busy. Answers were checked before timing. Method and "
        "caveats: bench/README.md, *ORM overhead*.",
        "",
    ]
    lines += [
        f"- ORM {r.query} ({r.mode}{', per request' * r.per_request}): {_ratio_text(r)}"
        for r in rows
        if r.ok and r.implementation.startswith("Kettle")
    ]
    lines += [
        "",
        f"| query | mode | implementation | µs/op | {TIMES} raw | {TIMES} Core | spread |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [r.query, r.mode, r.implementation, "error, see below", "", "", ""]
        if r.ok:
            raw = f"{r.ratio_to_raw:.2f}" if r.ratio_to_raw else ""
            core = f"{r.ratio_to_core:.2f}" if r.ratio_to_core else ""
            cells[3:] = [f"{r.us_per_op:.1f}", raw, core, f"{r.spread_pct:.0f}%"]
        lines.append(f"| {' | '.join(cells)} |")
    lines += [""] + [
        f"- **{r.query} {r.mode} {r.implementation}**: {r.error}" for r in rows if r.error
    ]
    (out / "orm.md").write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few queries, results to raw/")
    parser.add_argument("--iterations", type=int, default=Settings.iterations)
    parser.add_argument("--repeats", type=int, default=Settings.repeats)
    args = parser.parse_args(argv)
    missing = [name for name in VERSIONED if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"orm: {sys.executable} cannot import {', '.join(missing)}. Run this benchmark with "
            "the project's virtualenv (`.venv/bin/python bench/orm.py`), where "
            "`pip install -e '.[postgres]'` has installed Kettle and both drivers."
        )
        return 2
    settings = SMOKE if args.smoke else Settings(args.iterations, args.repeats)
    try:
        rows = run_orm(smoke=args.smoke, settings=settings)
    except NoServer as error:
        print(f"orm: {error}")
        return 1
    for row in rows:
        print(f"orm: {row.query} {row.mode} {row.implementation}: {_summary(row)}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
