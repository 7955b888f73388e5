"""Kettle's micro-core benchmarks: import time and JSON hello-world requests per second.

    python3 bench/run.py hello      # requests/s of every app on Granian (about 2 minutes)
    python3 bench/run.py imports    # import time of each framework
    python3 bench/run.py            # both (same as `all`)
    python3 bench/run.py hello --smoke   # 1 s per app; writes to results/raw/ only

Standard library only. It builds bench/.venv on first use and runs everything from there.
A test can import this file and call `run_hello(smoke=True)` to get the verified rows.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APPS_DIR = BENCH / "apps"
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"  # gitignored: server logs and smoke-run output
VENV = BENCH / ".venv"
PY = VENV / "bin" / "python"

HOST = "127.0.0.1"
SERVER_CPU, CLIENT_CPU = "0", "1"
CONNECTIONS = 64
WARMUP_SECONDS = 3
EXPECTED_BODY = {"message": "Hello, World!"}
GRANIAN_FLAGS = ["--workers", "1", "--runtime-threads", "1", "--loop", "asyncio"]
GRANIAN_FLAGS += ["--http", "1", "--no-ws", "--log-level", "warning"]
KETTLE_ENV = {
    "KETTLE_ENV": "production",
    "KETTLE_SECRET_KEY": "bench-secret",
    "KETTLE_ALLOWED_HOSTS": "127.0.0.1,localhost",
}
VERSIONED = ("kettle", "starlette", "fastapi", "flask", "granian")


@dataclass(frozen=True)
class AppSpec:
    name: str
    target: str  # module:attribute, relative to bench/apps
    interface: str  # Granian's --interface
    env: dict[str, str] = field(default_factory=dict)


APPS = (
    AppSpec("raw ASGI", "raw_asgi:app", "asgi"),
    AppSpec("kettle", "kettle_app:app", "asgi", KETTLE_ENV),
    AppSpec("kettle (async def)", "kettle_async_app:app", "asgi", KETTLE_ENV),
    AppSpec("starlette", "starlette_app:app", "asgi"),
    AppSpec("fastapi", "fastapi_app:app", "asgi"),
    AppSpec("flask", "flask_app:app", "wsgi"),
)


@dataclass
class HelloRow:
    framework: str
    server: str
    error: str = ""
    requests_per_s: float = 0.0
    ratio_to_raw: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    other_cpu_pct: float | None = None  # CPU used by neither server nor wrk while timing

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class ImportRow:
    package: str
    error: str = ""
    package_ms: float | None = None  # `import kettle`
    package_modules: int | None = None
    app_ms: float | None = None  # `import kettle_app`: what the app imports, plus building it
    app_modules: int | None = None


# ---------------------------------------------------------------- environment


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install(args: list[str], stamp: Path, source: Path) -> str:
    """Run `pip install ARGS` unless STAMP already records SOURCE's digest; return an error."""
    if stamp.exists() and stamp.read_text() == _digest(source):
        return ""
    cmd = [str(PY), "-m", "pip", "install", "--quiet", *args]
    proc = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        RAW.mkdir(parents=True, exist_ok=True)
        log = RAW / f"pip-{stamp.name.removeprefix('.installed-')}.log"
        log.write_text(proc.stdout + proc.stderr)
        return f"{_error_line(proc.stderr + proc.stdout)} (log {log.relative_to(BENCH)})"
    stamp.write_text(_digest(source))
    return ""


def ensure_venv() -> str:
    """Create bench/.venv, install the pinned peers, then Kettle from this checkout.

    Returns why Kettle could not be installed, or "".
    """
    if not PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    requirements = BENCH / "requirements.txt"
    error = _install(["-r", "requirements.txt"], VENV / ".installed-peers", requirements)
    if error:
        raise SystemExit(f"bench: installing {requirements} failed: {error}")
    # Kettle is optional here: if it does not build yet, its rows report the error.
    error = _install(["-e", ".."], VENV / ".installed-kettle", REPO / "pyproject.toml")
    if error:
        print(f"bench: pip install -e {REPO} failed, Kettle rows will fail: {error}")
    return error


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _error_line(text: str) -> str:
    """The last `SomeError: message` line of TEXT (traceback, pip output), else its last line."""
    errors = re.findall(r"^\s*(\w+(?:Error|Exception): .+)$", text, re.M)
    return errors[-1].strip() if errors else _last_line(text)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the apps and servers under test: ours, plus EXTRA, with bytecode
    caching on. A shell with PYTHONDONTWRITEBYTECODE set would make an editable Kettle
    compile its source at every start while the peers load the .pyc files pip wrote."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | (extra or {})


def _venv_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PY), "-c", code],
        cwd=APPS_DIR,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "def v(name):\n"
        "    try: return m.version(name)\n"
        "    except m.PackageNotFoundError: return None\n"
        f"print(json.dumps([sys.version.split()[0], {{n: v(n) for n in {VERSIONED!r}}}]))"
    )
    python, versions = json.loads(_venv_python(probe).stdout)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "node": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": python,
        "wrk": (wrk.stdout + wrk.stderr).split(" Copyright")[0].strip(),
        "versions": versions,
        "kettle_source": _kettle_source(),
    }


def _kettle_source() -> str:
    """The commit Kettle was measured at, "+ changes" when src/ differs from it."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
    )
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changes = subprocess.run(
        [*git, "status", "--porcelain", "--", "src"], capture_output=True, timeout=10
    )
    return head.stdout.strip() + (" + changes" if changes.stdout.strip() else "")


# ---------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait_for_port(proc: subprocess.Popen, port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group: Granian's supervisor and its worker."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def check_response(port: int) -> str:
    """Return why GET /json answered wrongly, or "" if it is right."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/json")
        resp = conn.getresponse()
        body = resp.read()
    except OSError as exc:
        return f"GET /json failed: {exc}"
    finally:
        conn.close()
    content_type = (resp.getheader("content-type") or "").split(";")[0].strip()
    if resp.status != 200:
        return f"GET /json answered {resp.status}: {body[:80]!r}"
    if content_type != "application/json":
        return f"GET /json content-type is {content_type!r}, expected application/json"
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if data != EXPECTED_BODY:
        return f"GET /json body is {body[:80]!r}"
    return ""


# ---------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@functools.cache
def require_wrk() -> None:
    """Stop with the command to run when wrk or taskset is missing (a benchmark that ran
    without them would time nothing and fail later, far from the cause)."""
    for tool, package in (("wrk", "wrk"), ("taskset", "util-linux")):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"bench: {tool} is not installed; run `make loadtools` from the repository "
                f"root (or `apt-get install -y {package}`) and start the benchmark again."
            )


def wrk(port: int, seconds: int, latency: bool = False) -> str:
    require_wrk()
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    cmd += ["--latency"] if latency else []
    cmd.append(f"http://{HOST}:{port}/json")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout


def parse_wrk(output: str, row: HelloRow) -> None:
    """Fill ROW's numbers from wrk's --latency report."""
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        row.requests_per_s = float(match[1])
    if match := re.search(r"(\d+) requests in", output):
        row.requests = int(match[1])
    for pct, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        if match := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
            setattr(row, attr, round(float(match[1]) * _UNITS_MS[match[2]], 3))
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        row.non_2xx = int(match[1])
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        row.socket_errors = sum(int(n) for n in match.groups())
    if not row.requests_per_s:
        row.error = f"wrk reported no requests: {_last_line(output)}"
    elif row.non_2xx:
        row.error = f"{row.non_2xx} non-2xx responses while timing"


def measure_app(spec: AppSpec, seconds: int, warmup: int, install_error: str = "") -> HelloRow:
    """Start SPEC on Granian, check its answer, warm it up, then time it with wrk."""
    row = HelloRow(spec.name, f"granian {spec.interface}")
    module = spec.target.split(":")[0]
    imported = _venv_python(f"import {module}", spec.env)
    if imported.returncode != 0:
        row.error = f"apps/{module}.py does not import: {_error_line(imported.stderr)}"
        if spec.env is KETTLE_ENV and install_error:
            row.error += f"; pip install -e .. failed: {install_error}"
        return row
    port = _free_port()
    cmd = ["taskset", "-c", SERVER_CPU, str(VENV / "bin" / "granian"), *GRANIAN_FLAGS]
    cmd += ["--interface", spec.interface, "--host", HOST, "--port", str(port), spec.target]
    RAW.mkdir(parents=True, exist_ok=True)
    log_path = RAW / f"{module}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=APPS_DIR,
            env=child_env(spec.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if not _wait_for_port(proc, port):
            tail = _error_line(log_path.read_text())
            row.error = f"server did not start (log {log_path.relative_to(BENCH)}): {tail}"
            return row
        if problem := check_response(port):
            row.error = f"refused to time: {problem}"
            return row
        if warmup:
            wrk(port, warmup)
        before = _cpu_sample(proc.pid)
        parse_wrk(wrk(port, seconds, latency=True), row)
        row.other_cpu_pct = _other_cpu_pct(before, _cpu_sample(proc.pid))
    except subprocess.TimeoutExpired as exc:
        row.error = f"timed out: {exc}"
    finally:
        _stop(proc)
    return row


# ---------------------------------------------------------------- noise
# NOTE: the machine is shared (a test suite may run beside the benchmark), so each row
# records how much CPU went to other processes while it was timed, in % of one core.

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_sample(pgid: int) -> tuple[float, float, float, float]:
    """(wall, busy CPU of the machine, CPU of process group PGID, CPU of reaped children)."""
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
    group = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == pgid:
            group += int(fields[11]) + int(fields[12])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = children.ru_utime + children.ru_stime  # wrk, once it has exited
    return time.monotonic(), busy / _TICK, group / _TICK, reaped


def _other_cpu_pct(before: tuple[float, ...], after: tuple[float, ...]) -> float:
    wall, busy, server, wrk_cpu = (b - a for a, b in zip(before, after, strict=True))
    return round(max(busy - server - wrk_cpu, 0.0) / wall * 100, 1)


# ---------------------------------------------------------------- commands


def run_hello(
    duration: int = 10,
    smoke: bool = False,
    only: list[str] | None = None,
    write: bool = True,
) -> list[HelloRow]:
    """Measure every app once, in one run; return the rows (smoke: 1 s each, no warm-up).

    A smoke run writes its tables to results/raw/ so the committed results stay put.
    """
    kettle_error = ensure_venv()
    machine = machine_info()
    seconds, warmup = (1, 0) if smoke else (duration, WARMUP_SECONDS)
    specs = [s for s in APPS if not only or s.name.split()[0] in only]
    rows = []
    for spec in specs:
        print(f"bench: {spec.name} ...", flush=True)
        rows.append(measure_app(spec, seconds, warmup, kettle_error))
        print(f"bench:   {_summary(rows[-1])}", flush=True)
    if noisy := [r.framework for r in rows if (r.other_cpu_pct or 0) > 10]:
        print(f"bench: warning: other processes used the CPU while timing {', '.join(noisy)}")
    raw = next((r for r in rows if r.framework == "raw ASGI" and r.ok), None)
    for row in rows:
        if raw and row.ok:
            row.ratio_to_raw = round(row.requests_per_s / raw.requests_per_s, 3)
    if write:
        settings = {"duration_s": seconds, "warmup_s": warmup, "connections": CONNECTIONS}
        settings |= {"granian_flags": GRANIAN_FLAGS, "server_cpu": SERVER_CPU}
        settings |= {"wrk_cpu": CLIENT_CPU, "smoke": smoke}
        _write_hello(rows, machine, settings, RAW if smoke else RESULTS)
    return rows


def _summary(row: HelloRow) -> str:
    if row.error and not row.requests_per_s:
        return f"ERROR {row.error}"
    numbers = f"{row.requests_per_s:,.0f} req/s, p50 {row.p50_ms} ms, p99 {row.p99_ms} ms"
    return f"{numbers} {row.error}".strip()


def _write_hello(rows: list[HelloRow], machine: dict, settings: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine, "settings": settings, "rows": [asdict(r) for r in rows]}
    (out / "hello.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# JSON hello world: requests per second",
        "",
        _header(machine),
        f"Each app on Granian {machine['versions']['granian']}, one worker "
        f"(`{' '.join(GRANIAN_FLAGS)}`), pinned to core {SERVER_CPU}; "
        f"`wrk -t1 -c{CONNECTIONS} -d{settings['duration_s']}s --latency` pinned to core "
        f"{CLIENT_CPU}, after a {settings['warmup_s']} s warm-up. "
        "Every app's answer was checked before it was timed. *Other CPU*: CPU time used "
        "by other processes while the app was timed, in % of one core; above ~10% the row "
        "is skewed.",
        "",
        "| framework | server | requests/s | ratio to raw ASGI | p50 latency | p99 latency "
        "| other CPU |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.error and not r.requests_per_s:
            lines.append(f"| {r.framework} | {r.server} | error, see below | | | | |")
            continue
        ratio = f"{r.ratio_to_raw:.2f}" if r.ratio_to_raw is not None else ""
        lines.append(
            f"| {r.framework} | {r.server} | {r.requests_per_s:,.0f} | {ratio} "
            f"| {_ms(r.p50_ms)} | {_ms(r.p99_ms)} | {r.other_cpu_pct}% |"
        )
    lines += [""] + [f"- **{r.framework}**: {r.error}" for r in rows if r.error]
    (out / "hello.md").write_text("\n".join(lines).rstrip() + "\n")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} ms"


def _header(machine: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    return (
        f"Measured {machine['date_utc']} on `{machine['node']}`: {machine['cpu']}, "
        f"{machine['cores']} cores, {machine['os']}, Python {machine['python']}, "
        f"{machine['wrk']}. Packages: {versions}; Kettle at {machine['kettle_source']}.\n"
    )


def run_imports(runs: int = 20, write: bool = True) -> list[ImportRow]:
    """Import cost of each framework, and of its hello app (framework imports + building it).

    Median wall time over RUNS interleaved runs of `python -c "import X"`, minus the
    median of `python -c "pass"`.
    """
    kettle_error = ensure_venv()
    machine = machine_info()
    # One import row per framework: the raw app imports nothing, and Kettle's two apps
    # import the same modules.
    specs = [s for s in APPS if s.name != "raw ASGI" and "(" not in s.name]
    rows, jobs = [], {"pass": {}}
    for spec in specs:
        row, module = ImportRow(spec.name), spec.target.split(":")[0]
        for attr, target in (("package_modules", spec.name), ("app_modules", module)):
            probe = (
                f"import sys; n = len(sys.modules); import {target}; print(len(sys.modules) - n)"
            )
            proc = _venv_python(probe, spec.env)  # also writes the .pyc files before timing
            if proc.returncode != 0:
                row.error = f"`import {target}` fails: {_error_line(proc.stderr)}"
                if spec.env is KETTLE_ENV and kettle_error:
                    row.error += f"; pip install -e .. failed: {kettle_error}"
                break
            setattr(row, attr, int(proc.stdout))
            jobs[f"import {target}"] = spec.env
        rows.append(row)
    samples: dict[str, list[float]] = {code: [] for code in jobs}
    failures: dict[str, str] = {}
    for _ in range(runs):  # interleaved, so drift hits every package alike
        for code, env in jobs.items():
            if code not in failures:
                failures |= _time_python(code, env, samples[code])
    baseline = statistics.median(samples["pass"])
    for row, spec in zip(rows, specs, strict=True):
        package, app = f"import {spec.name}", f"import {spec.target.split(':')[0]}"
        if failed := failures.get(package) or failures.get(app):
            row.error = failed
        elif not row.error:
            row.package_ms = round(statistics.median(samples[package]) - baseline, 1)
            row.app_ms = round(statistics.median(samples[app]) - baseline, 1)
    if write:
        _write_imports(rows, machine, runs, baseline)
    return rows


def _time_python(code: str, env: dict[str, str], samples: list[float]) -> dict[str, str]:
    """Append the wall time of `python -c CODE` (ms) to SAMPLES; return {CODE: error} on failure."""
    cmd = ["taskset", "-c", SERVER_CPU, str(PY), "-c", code]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=APPS_DIR, env=child_env(env), capture_output=True, text=True, timeout=60
    )
    samples.append((time.perf_counter() - start) * 1000)
    return {code: f"`{code}` failed mid-run: {_error_line(proc.stderr)}"} if proc.returncode else {}


def _write_imports(rows: list[ImportRow], machine: dict, runs: int, baseline: float) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine, "runs": runs, "baseline_ms": round(baseline, 1)}
    data["rows"] = [asdict(r) for r in rows]
    (RESULTS / "import_time.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Import time",
        "",
        _header(machine),
        f'Median over {runs} interleaved runs of `python -c "import X"`, minus the median of '
        f'`python -c "pass"` ({baseline:.1f} ms), pinned to core {SERVER_CPU}. '
        "*package*: `import kettle`, `import flask`, ...; *hello app*: importing "
        "`apps/<name>_app.py`, i.e. the framework modules the app uses plus building the app. "
        "Modules: how many entries each adds to `sys.modules`.",
        "",
        "| framework | version | package | modules | hello app | modules |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        version = machine["versions"].get(r.package) or ""
        if r.error:
            lines.append(f"| {r.package} | {version} | error, see below | | | |")
            continue
        lines.append(
            f"| {r.package} | {version} | {r.package_ms:.1f} ms | {r.package_modules} "
            f"| {r.app_ms:.1f} ms | {r.app_modules} |"
        )
    lines += [""] + [f"- **{r.package}**: {r.error}" for r in rows if r.error]
    (RESULTS / "import_time.md").write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="all", choices=["hello", "imports", "all"])
    parser.add_argument("--duration", type=int, default=10, help="seconds per app (10)")
    parser.add_argument("--smoke", action="store_true", help="1 s per app, results to raw/")
    parser.add_argument("--only", help="comma-separated apps, e.g. raw,kettle")
    parser.add_argument("--runs", type=int, default=20, help="import-time runs (20)")
    args = parser.parse_args(argv)
    failed = False
    if args.command in ("imports", "all"):
        rows = run_imports(runs=3 if args.smoke else args.runs, write=not args.smoke)
        for row in rows:
            cost = f"package {row.package_ms} ms, hello app {row.app_ms} ms"
            print(f"bench: import {row.package}: {row.error or cost}")
        failed |= any(r.error for r in rows)
    if args.command in ("hello", "all"):
        only = args.only.split(",") if args.only else None
        rows = run_hello(args.duration, args.smoke, only)
        failed |= not all(r.ok for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
