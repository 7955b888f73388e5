"""tfb.py's results as Markdown and JSON (tfb.md, tfb.json), and the chart (tfb.png).

Standard library only; the chart is drawn by tfb_chart.py on bench/.venv's matplotlib.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import run
from tfb_specs import BENCH, IMPLEMENTATIONS, QUERIES, TESTS

if TYPE_CHECKING:
    from tfb import TfbRow


def summary(row: TfbRow) -> str:
    """One line for the console."""
    if row.error and not row.tests:
        return f"ERROR {row.error}"
    rates = ", ".join(f"{name} {t.requests_per_s:,.0f}" for name, t in row.tests.items())
    errors = "; ".join(f"{name}: {t.error}" for name, t in row.tests.items() if t.error)
    return f"req/s {rates}; cold start {row.cold_start_ms} ms {errors}".strip()


def _cells(row: TfbRow, value: Any) -> str:
    """One table line: the row's name, then VALUE(test result) for each test type."""
    cells = []
    for test in TESTS:
        result = row.tests.get(test.name)
        cells.append(value(result) if result and result.requests_per_s else "")
    return f"| {row.implementation} | {row.server} | " + " | ".join(cells) + " |"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} MiB"


def markdown(rows: list[TfbRow], machine: dict[str, Any], settings: dict[str, Any]) -> str:
    heads = " | ".join(test.title for test in TESTS)
    rule = "|---|---|" + "---:|" * len(TESTS)

    def table(title: str, note: str, value: Any) -> list[str]:
        lines = [f"## {title}", "", note, "", f"| implementation | server | {heads} |", rule]
        return lines + [_cells(r, value) for r in rows if r.tests] + [""]

    smoke = " **Smoke run: 1 s per test, numbers are not comparable.**" * settings["smoke"]
    title = "Kettle against its peers"
    if settings.get("servers"):
        title = "each server configuration (`tfb.py --servers`)"
    lines = [
        f"# TechEmpower test types: {title}",
        "",
        run._header(machine).rstrip() + f" PostgreSQL {machine['postgresql']} on the same machine.",
        "",
        f"Each implementation served by one worker pinned to core {settings['server_cpu']}; "
        f"`wrk -t1 -c{settings['connections']} -d{settings['duration']}s --latency` pinned to "
        f"core {settings['wrk_cpu']} after a {settings['warmup']} s warm-up, for every test "
        "type (no pipelining)."
        + (
            f" The whole sequence of servers ran {settings['rounds']} times over; each cell "
            "is its median timing (by requests/s, with that timing's latency and CPU), so "
            "the machine's drift over minutes is shared out instead of landing on one row."
            if settings.get("rounds", 1) > 1
            else ""
        )
        + " PostgreSQL is not pinned. Every implementation's answers to all "
        f"six test types were checked against the rules before it was timed.{smoke} Method: "
        "bench/README.md, *TechEmpower test types*.",
        "",
        "![Requests per second per test type](tfb.png)",
        "",
    ]
    lines += table(
        "Requests per second",
        f"*{QUERIES} queries* and *{QUERIES} updates*: `?queries={QUERIES}`, one SELECT per row.",
        lambda t: f"{t.requests_per_s:,.0f}" + (" *" if t.error else ""),
    )
    lines += table(
        "Ratio to the raw ASGI app",
        "Requests/s divided by those of `tfb_apps/app_raw.py` on Granian: the share of the "
        "ceiling a framework keeps. WSGI rows cross interfaces and are there for context.",
        lambda t: _ratio(t.ratio_to_raw),
    )
    lines += table(
        "Ratio to Kettle",
        "Requests/s divided by those of Kettle (as its docs teach) on Granian: above 1.00 is "
        "faster than Kettle.",
        lambda t: _ratio(t.ratio_to_kettle),
    )
    lines += table(
        "Server CPU per request (µs)",
        "The worker's CPU time while timing divided by the requests it served: what a request "
        "costs the framework, server and driver. Unlike requests/s it barely moves when other "
        "processes take turns on the server's core, so compare these when *other* CPU "
        "(below) is high. For the database tests it leaves out PostgreSQL's own work.",
        lambda t: f"{t.cpu_us_per_request:,.0f}" if t.cpu_us_per_request else "",
    )
    lines += table(
        "Latency: p50 / p99 (ms)",
        f"From wrk's `--latency` report at {settings['connections']} connections.",
        lambda t: f"{_ms(t.p50_ms)} / {_ms(t.p99_ms)}",
    )
    lines += [
        "## Start-up and memory",
        "",
        "*Import*: median wall time of importing the app module (framework, ORM, building the "
        "app) minus the interpreter's start, over "
        f"{settings['import_runs']} interleaved runs. *Cold start*: from spawning the server "
        "to the first 200 on /json (median of "
        f"{settings['cold_starts']}). *RSS*: resident memory of the one worker process, idle "
        "after its first response, and after all six loads (with its peak).",
        "",
        "| implementation | server | import | cold start | RSS idle | RSS after load | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.implementation} | {r.server} | {_ms(r.import_ms)} ms | {_ms(r.cold_start_ms)} ms "
        f"| {_mb(r.rss_idle_mb)} | {_mb(r.rss_after_mb)} | {_mb(r.rss_peak_mb)} |"
        for r in rows
    ]
    lines += [""]
    lines += table(
        "CPU: server / PostgreSQL / other",
        "CPU time while timing, in % of one core: the server's worker (about 100%: it was "
        "the bottleneck), PostgreSQL's processes, and everything else but wrk (above ~10% "
        "other work shared the machine and the cell is skewed). A test whose *other* CPU "
        f"was above {settings['noisy_pct']:.0f}% was timed again, up to {settings['retries']} "
        "more times, and the quietest timing kept; (n timings) says how many were made.",
        lambda t: (
            f"{t.server_cpu_pct:.0f} / {t.db_cpu_pct:.0f} / {t.other_cpu_pct:.0f}"
            + (f" ({t.attempts} timings)" if t.attempts > 1 else "")
        ),
    )
    lines += ["## Implementations", ""]
    lines += [f"- **{impl.name}**: {impl.description}." for impl in IMPLEMENTATIONS]
    problems = [f"- **{r.implementation} on {r.server}**: {r.error}" for r in rows if r.error]
    problems += [
        f"- **{r.implementation} on {r.server}, {name}** (marked *): {t.error}"
        for r in rows
        for name, t in r.tests.items()
        if t.error
    ]
    if problems:
        lines += ["", "## Errors", "", *problems]
    return "\n".join(lines).rstrip() + "\n"


def write(
    rows: list[TfbRow],
    machine: dict[str, Any],
    settings: dict[str, Any],
    out: Path,
    stem: str = "tfb",
) -> None:
    """Write OUT/STEM.json (everything) and OUT/STEM.md (the tables)."""
    out.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine, "settings": settings, "tests": [asdict(t) for t in TESTS]}
    data["rows"] = [asdict(r) | {"ok": r.ok} for r in rows]
    (out / f"{stem}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (out / f"{stem}.md").write_text(markdown(rows, machine, settings))


def chart(out: Path, stem: str = "tfb") -> str:
    """Draw OUT/STEM.png from OUT/STEM.json; return why it failed, or ""."""
    data, png = out / f"{stem}.json", out / f"{stem}.png"
    proc = subprocess.run(
        [str(run.PY), str(BENCH / "tfb_chart.py"), str(data), str(png)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run._error_line(proc.stderr) if proc.returncode else ""
