"""Running one server: start it pinned, time its cold start, read its memory, load it with wrk.

Standard library only. The server pieces (ports, stopping a process group, parsing wrk's
report) come from run.py.
"""

from __future__ import annotations

import http.client
import os
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from run import (
    CLIENT_CPU,
    CONNECTIONS,
    HOST,
    SERVER_CPU,
    _stop,
    child_env,
    parse_wrk,
    require_wrk,
)

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    """What wrk reported for one test type (attribute names as run.parse_wrk fills them)."""

    error: str = ""
    requests_per_s: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    server_cpu_pct: float | None = None  # CPU of the server's processes, in % of one core
    cpu_us_per_request: float | None = None  # the server's CPU time / requests served
    other_cpu_pct: float | None = None  # CPU of neither server, wrk nor PostgreSQL
    db_cpu_pct: float | None = None  # CPU of PostgreSQL's processes, in % of one core
    attempts: int = 1  # timings made; tfb.timed() keeps the quietest
    rounds_per_s: list[int] = field(default_factory=list)  # every round's; this is the median
    ratio_to_raw: float | None = None
    ratio_to_kettle: float | None = None


class Started:
    """A server process group, started pinned to SERVER_CPU; `stop()` ends the whole group."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        with log.open("w") as out:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                ["taskset", "-c", SERVER_CPU, *cmd],
                cwd=cwd,
                env=child_env(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def first_response_ms(self, port: int, timeout: float = 60.0) -> float | None:
        """Milliseconds from the spawn to the first 200 on /json; None if none came in time."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline and self.proc.poll() is None:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            try:
                conn.request("GET", "/json")
                if conn.getresponse().status == 200:
                    return round((time.perf_counter() - self.started) * 1000, 1)
            except OSError:
                time.sleep(0.005)
            finally:
                conn.close()
        return None

    def worker_memory_mb(self) -> tuple[float | None, float | None]:
        """(RSS, peak RSS) in MiB of the worker: the largest process of the group that has
        no child in it (Granian's and gunicorn's worker, uvicorn's only process)."""
        group = _group(self.proc.pid)
        parents = set(group.values())
        leaves = [pid for pid in group if pid not in parents] or list(group)
        best: tuple[float, float] | None = None
        for pid in leaves:
            status = _status(pid)
            if "VmRSS" in status and (best is None or status["VmRSS"] > best[0]):
                best = (status["VmRSS"], status.get("VmHWM", status["VmRSS"]))
        if best is None:
            return None, None
        return round(best[0] / 1024, 1), round(best[1] / 1024, 1)

    def stop(self) -> None:
        _stop(self.proc)


def _group(pgid: int) -> dict[int, int]:
    """{pid: parent pid} of the processes in process group PGID."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found[int(stat.parent.name)] = int(fields[1])
    return found


def _status(pid: int) -> dict[str, float]:
    """The kB figures of /proc/PID/status (VmRSS, VmHWM, ...)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[name] = float(rest.split()[0])
    except OSError:
        pass
    return values


# ---------------------------------------------------------------- load


def wrk(port: int, path: str, seconds: int, latency: bool) -> str:
    require_wrk()
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    cmd += ["--timeout", "5s", *(["--latency"] if latency else [])]
    cmd.append(f"http://{HOST}:{port}{path}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout


def load(port: int, path: str, seconds: int, warmup: int, pgid: int) -> Load:
    """Warm up, then time PATH with wrk; note the CPU that others used meanwhile."""
    if warmup:
        wrk(port, path, warmup, latency=False)
    result = Load()
    before, db_before = cpu_sample(pgid)
    parse_wrk(wrk(port, path, seconds, latency=True), result)  # type: ignore[arg-type]
    after, db_after = cpu_sample(pgid)
    wall, busy, server, wrk_cpu = (b - a for a, b in zip(before, after, strict=True))
    # NOTE: per backend, so one that exits meanwhile (another client's) drops out instead
    # of subtracting its whole life; one that starts meanwhile counts from zero.
    database = sum(ticks - db_before.get(pid, 0) for pid, ticks in db_after.items()) / _TICK
    result.server_cpu_pct = round(server / wall * 100, 1)
    if result.requests:
        result.cpu_us_per_request = round(server / result.requests * 1e6, 1)
    result.db_cpu_pct = round(max(database, 0.0) / wall * 100, 1)
    result.other_cpu_pct = round(max(busy - server - wrk_cpu - database, 0.0) / wall * 100, 1)
    return result


def cpu_sample(pgid: int) -> tuple[tuple[float, float, float, float], dict[int, int]]:
    """((wall, busy CPU of the machine, CPU of group PGID, of reaped children), and the
    CPU ticks of each PostgreSQL process by pid)."""
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = sum(cpu) - cpu[3] - cpu[4]  # all but idle and iowait
    group = 0
    database = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if int(fields[2]) == pgid:
            group += ticks
        elif name == "postgres":
            database[int(stat.parent.name)] = ticks
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = children.ru_utime + children.ru_stime  # wrk, once it has exited
    return (time.monotonic(), busy / _TICK, group / _TICK, reaped), database
