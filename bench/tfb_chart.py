"""Draw tfb.json as a PNG: one panel of requests/s per test type, Kettle's rows highlighted.

    bench/.venv/bin/python bench/tfb_chart.py results/tfb.json results/tfb.png

Runs on bench/.venv (matplotlib is pinned in requirements.txt); tfb.py calls it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"kettle": "#d9480f", "raw ASGI": "#868e96"}
NOISY_PCT = 15.0  # as tfb.NOISY_PCT: bars timed while others used more CPU are hatched
OTHER = "#1c7ed6"


def colour(implementation: str) -> str:
    return COLOURS.get(implementation.split(" (")[0], OTHER)


def draw(data: dict, out: Path) -> None:
    rows = [r for r in data["rows"] if r["tests"]]
    if not rows:
        raise SystemExit("tfb_chart: no row was timed, so there is nothing to draw")
    tests = data["tests"]
    labels = [f"{r['implementation']} \u00b7 {r['server']}" for r in rows]
    fig, axes = plt.subplots(2, 3, figsize=(15, 1.6 + 0.34 * len(rows) * 2), sharey=True)
    for ax, test in zip(axes.flat, tests, strict=True):
        results = [r["tests"].get(test["name"], {}) for r in rows]
        values = [result.get("requests_per_s", 0) for result in results]
        y = range(len(rows))
        bars = ax.barh(y, values, color=[colour(r["implementation"]) for r in rows])
        for bar, result in zip(bars, results, strict=True):
            if (result.get("other_cpu_pct") or 0) > NOISY_PCT:
                bar.set_hatch("///")
                bar.set_edgecolor("white")
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.set_title(test["title"], fontsize=11)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        top = max(values) or 1
        for i, value in enumerate(values):
            ax.text(value + top * 0.01, i, f"{value:,.0f}", va="center", fontsize=7)
        ax.set_xlim(0, top * 1.22)
    axes.flat[0].invert_yaxis()  # once: the panels share the y axis; first row on top
    machine, settings = data["machine"], data["settings"]
    smoke = " (smoke run: 1 s per test)" if settings["smoke"] else ""
    fig.suptitle(
        f"Requests per second, one worker on one core, wrk -c{settings['connections']}{smoke}; "
        f"hatched: other processes used over {NOISY_PCT:.0f}% of a core meanwhile\n"
        f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql'].split()[0]}, {machine['date_utc'][:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
