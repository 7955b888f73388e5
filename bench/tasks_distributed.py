"""Distributed tasks (issue #15): what Kettle's layer over Dramatiq costs, next to Dramatiq
used directly on the same Redis and to Celery on RabbitMQ.

Run from the repository root (Redis on 6379, RabbitMQ on 5672 guest/guest)::

    bench/.venv/bin/python bench/tasks_distributed.py      # 20,000 tasks a system
    bench/.venv/bin/python bench/tasks_distributed.py --tasks 5000 --rounds 1
    .venv/bin/python bench/tasks_distributed.py --server-only   # the request rows only

All three rows need one interpreter with Kettle, Dramatiq and Celery: ``bench/.venv``
(``python3 bench/run.py`` builds it from bench/requirements.txt, which pins Celery and
Kettle's Redis extra; Celery is not in the project's lock). The project's ``.venv`` runs
every row but Celery's, which it then leaves out.

Measured, each system in turn, ``--rounds`` times (the best round is kept):

- **enqueue**: the mean time of one enqueue from the caller (Kettle: ``task.enqueue``
  with argument checks, the record and the message in one Redis round trip; Dramatiq:
  ``actor.send``; Celery: ``task.delay``);
- **request**: what an enqueue adds to a Kettle request (median of a route that enqueues
  minus the median of the same route without, in-process through the ASGI app);
- **through a server**: the same as a user sees it: ``bench/tasks_server_app.py`` on
  Granian (one worker, production settings), a sequential keep-alive HTTP client, each
  route in blocks of ``--server-requests``; per pair of routes (``def`` and ``async def``,
  each also writing a row in its unit of work, on SQLite), the median of the added latency
  and of the added server CPU per request (the worker process's user + system time);
- **tasks/s**: the queue is filled first, then one worker with ``--threads`` threads
  empties it; every task is the same one-command body (an INCR on Redis, how the bench
  knows they all ran). Kettle's worker also records each task's state (running, done).

Celery runs as its own worker process (threads pool); Kettle and Dramatiq run their
worker in this process, the queue already full, so nothing else competes with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
REDIS = "redis://127.0.0.1:6379/0"
AMQP = "amqp://guest:guest@127.0.0.1:5672//"
COUNTER = "bench:tasks:done"
counter = redis.Redis.from_url(REDIS)


def bump() -> None:
    """The body of every benchmarked task."""
    counter.incr(COUNTER)


def wait_for(count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while int(counter.get(COUNTER) or 0) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {counter.get(COUNTER)} of {count} tasks ran")
        time.sleep(0.005)


def _drop(prefix: str) -> None:
    for key in counter.scan_iter(f"{prefix}*", count=1000):
        counter.delete(key)


# --- Kettle ------------------------------------------------------------------------------
def kettle_round(tasks: int, threads: int, hold: bool = True) -> dict[str, float]:
    """Kettle's layer; ``hold=False`` writes each outcome at once, in a round trip of its
    own (the worker before round 5's last change), for an interleaved A/B."""
    from kettle.tasks import Registry, Tasks, task

    namespace = f"benchk{uuid.uuid4().hex[:6]}"
    kettle_tasks = Tasks(url=f"{REDIS}?namespace={namespace}")

    @task(name="bench.noop")
    def noop(n: int) -> None:
        bump()

    counter.delete(COUNTER)
    started = time.perf_counter()
    for n in range(tasks):
        noop.enqueue(n)
    enqueue = (time.perf_counter() - started) / tasks
    loop = kettle_tasks.backend.worker(Registry([noop]), queues=["default"], concurrency=threads)
    if not hold:
        held = loop._held  # type: ignore[attr-defined]
        held.hold = lambda write: loop._persist(loop._write, [write])  # type: ignore[attr-defined]
    started, cpu = time.perf_counter(), time.process_time()
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    wait_for(tasks)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    loop.stop(grace=5)
    thread.join(30)
    _drop(namespace)
    return {
        "enqueue_ms": enqueue * 1000,
        "tasks_per_s": tasks / elapsed,
        "cpu_us": cpu / tasks * 1e6,
    }


def kettle_request_cost(requests: int) -> float:
    """Median ms an enqueue adds to a request (in-process, through the ASGI app)."""
    from kettle import App
    from kettle.tasks import Tasks, task
    from kettle.testing import TestClient

    namespace = f"benchr{uuid.uuid4().hex[:6]}"
    app = App()
    Tasks(app, url=f"{REDIS}?namespace={namespace}")

    @task(name="bench.mail")
    def mail(user_id: int, site: str) -> None: ...

    @app.post("/plain")
    def plain() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/enqueue")
    def enqueue() -> dict[str, bool]:
        mail.enqueue(42, "https://example.org")
        return {"ok": True}

    times: dict[str, list[float]] = {"/plain": [], "/enqueue": []}
    with TestClient(app) as client:
        for i in range(requests + 100):
            for path in ("/plain", "/enqueue"):
                started = time.perf_counter()
                client.post(path)
                if i >= 100:
                    times[path].append(time.perf_counter() - started)
    _drop(namespace)
    return (statistics.median(times["/enqueue"]) - statistics.median(times["/plain"])) * 1000


ROUTES = {  # the route without an enqueue, then the same with one
    "def": ("/plain", "/enqueue"),
    "async def": ("/aplain", "/aenqueue"),
    "def, writes a row": ("/write", "/write-enqueue"),
    "async def, writes a row": ("/awrite", "/awrite-enqueue"),
}
GRANIAN = ["--interface", "asgi", "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop"]
GRANIAN += ["--http", "1", "--no-ws", "--log-level", "warning"]


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children (Granian's worker)."""
    pids, total = [pid], 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                pids.append(int(entry.name))
    for each in pids:
        try:
            stat = (Path("/proc") / str(each) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_request_cost(requests: int, rounds: int, folder: Path) -> dict[str, dict[str, float]]:
    """What one enqueue adds to a request through a real server (Granian, one worker, as
    ``kettle run --production``), from a sequential keep-alive HTTP client: per route
    pair, the median over ``rounds`` interleaved blocks of ``requests`` requests of the
    latency (client side) and of the server's CPU per request, with and without."""
    import http.client
    import socket
    import sqlite3

    namespace = f"benchs{uuid.uuid4().hex[:6]}"
    # NOTE: on tmpfs where there is one, so that the commits' fsync is not what is timed.
    shm = Path("/dev/shm")
    database = (shm if shm.is_dir() else folder) / f"kettle-bench-{namespace}.sqlite3"
    database.unlink(missing_ok=True)
    env = {
        **os.environ,
        "KETTLE_BENCH_TASKS_URL": f"{REDIS}?namespace={namespace}",
        "KETTLE_BENCH_DB": str(database),
        "KETTLE_SECRET_KEY": uuid.uuid4().hex * 2,
        "KETTLE_ALLOWED_HOSTS": "*",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    with sqlite3.connect(database) as sqlite:  # the table of tasks_server_app.PEOPLE
        sqlite.execute(
            "CREATE TABLE bench_task_people (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)"
        )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "granian", *GRANIAN, "--port", str(port)]
    command.append("tasks_server_app:app")
    process = subprocess.Popen(command, cwd=HERE, env=env)
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", "/plain")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the Granian server did not start") from None
                time.sleep(0.2)
        paths = [path for pair in ROUTES.values() for path in pair]
        for round_ in range(rounds + 1):  # the first round warms up, and is dropped
            for path in paths:
                latencies = []
                cpu = _tree_cpu(process.pid)
                for _ in range(requests):
                    started = time.perf_counter()
                    connection.request("POST", path)
                    response = connection.getresponse()
                    response.read()
                    latencies.append(time.perf_counter() - started)
                    if response.status != 200:
                        raise SystemExit(f"POST {path} answered {response.status}")
                cpu = (_tree_cpu(process.pid) - cpu) / requests
                if round_:
                    samples.setdefault(path, []).append((statistics.median(latencies), cpu))
    finally:
        process.terminate()
        process.wait(30)
        _drop(namespace)
        database.unlink(missing_ok=True)
    costs = {}
    for name, (plain, enqueue) in ROUTES.items():
        latency = [e[0] - p[0] for p, e in zip(samples[plain], samples[enqueue], strict=True)]
        cpu = [e[1] - p[1] for p, e in zip(samples[plain], samples[enqueue], strict=True)]
        costs[name] = {
            "plain_ms": statistics.median(s[0] for s in samples[plain]) * 1000,
            "latency_ms": statistics.median(latency) * 1000,
            "cpu_us": statistics.median(cpu) * 1e6,
        }
    return costs


def print_server_costs(costs: dict[str, dict[str, float]], requests: int, rounds: int) -> None:
    print(f"\nOne enqueue through Granian (one worker), sequential client, median of {rounds} "
          f"blocks of {requests}:\n")  # fmt: skip
    print("| handler | request without (ms) | added latency (ms) | added server CPU (us) |")
    print("|---|---:|---:|---:|")
    for name, got in costs.items():
        print(f"| {name} | {got['plain_ms']:.3f} | {got['latency_ms']:.3f} | {got['cpu_us']:.0f} |")


# --- Dramatiq, directly ------------------------------------------------------------------
def dramatiq_round(tasks: int, threads: int) -> dict[str, float]:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    namespace = f"benchd{uuid.uuid4().hex[:6]}"
    broker = RedisBroker(url=REDIS, namespace=namespace)
    dramatiq.set_broker(broker)

    @dramatiq.actor(broker=broker, queue_name="default", max_retries=0)
    def noop(n: int) -> None:
        bump()

    counter.delete(COUNTER)
    started = time.perf_counter()
    for n in range(tasks):
        noop.send(n)
    enqueue = (time.perf_counter() - started) / tasks
    worker = dramatiq.Worker(broker, worker_threads=threads)
    started, cpu = time.perf_counter(), time.process_time()
    worker.start()
    wait_for(tasks)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    worker.stop()
    broker.close()
    _drop(namespace)
    return {
        "enqueue_ms": enqueue * 1000,
        "tasks_per_s": tasks / elapsed,
        "cpu_us": cpu / tasks * 1e6,
    }


# --- Celery on RabbitMQ ------------------------------------------------------------------
CELERY_APP = """
import redis
from celery import Celery

app = Celery("benchcelery", broker="{amqp}")
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=4, task_acks_late=True,
                worker_hijack_root_logger=False)
counter = redis.Redis.from_url("{redis}")


@app.task(name="bench.noop")
def noop(n):
    counter.incr("{counter}")
"""


def celery_round(tasks: int, threads: int, folder: Path) -> dict[str, float]:
    (folder / "benchcelery.py").write_text(
        CELERY_APP.format(amqp=AMQP, redis=REDIS, counter=COUNTER)
    )
    sys.path.insert(0, str(folder))
    import benchcelery

    benchcelery.app.control.purge()
    counter.delete(COUNTER)
    started = time.perf_counter()
    for n in range(tasks):
        benchcelery.noop.delay(n)
    enqueue = (time.perf_counter() - started) / tasks
    command = [
        sys.executable, "-m", "celery", "-A", "benchcelery", "worker", "--pool", "threads",
        "--concurrency", str(threads), "--loglevel", "WARNING", "--quiet", "--without-gossip",
        "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(folder)}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=folder, env=env)
    try:
        wait_for(tasks)
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)
    return {"enqueue_ms": enqueue * 1000, "tasks_per_s": tasks / elapsed}


def has_celery() -> bool:
    """Whether Celery is installed (bench/requirements.txt); without it, its row is left out."""
    try:
        import celery  # noqa: F401
    except ImportError:
        print("Celery is not installed (pip install -r bench/requirements.txt): no Celery row.")
        return False
    return True


KETTLE = "kettle (Dramatiq on Redis)"
BEFORE = "kettle, each outcome in its own round trip (before)"
DRAMATIQ = "Dramatiq on Redis, directly"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-celery", action="store_true", help="Leave Celery out.")
    parser.add_argument(
        "--before", action="store_true", help="Also Kettle's worker writing each outcome at once."
    )
    parser.add_argument("--server-requests", type=int, default=500)
    parser.add_argument(
        "--server-only",
        action="store_true",
        help="Only what an enqueue adds to a request through Granian.",
    )
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"kettle-bench-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    if args.server_only:
        costs = server_request_cost(args.server_requests, args.rounds, folder)
        print_server_costs(costs, args.server_requests, args.rounds)
        return
    results: dict[str, dict[str, float]] = {}
    ratios: list[dict[str, float]] = []
    for _ in range(args.rounds):  # interleaved, so a busy moment hits all alike
        systems = [
            (KETTLE, lambda: kettle_round(args.tasks, args.threads)),
            (DRAMATIQ, lambda: dramatiq_round(args.tasks, args.threads)),
        ]
        if args.before:
            systems.append((BEFORE, lambda: kettle_round(args.tasks, args.threads, hold=False)))
        if not args.no_celery and has_celery():
            systems.append(
                ("Celery on RabbitMQ", lambda: celery_round(args.tasks, args.threads, folder))
            )
        this_round: dict[str, dict[str, float]] = {}
        for name, run in systems:
            got = this_round[name] = run()
            best = results.setdefault(name, dict(got))
            best["enqueue_ms"] = min(best["enqueue_ms"], got["enqueue_ms"])
            best["tasks_per_s"] = max(best["tasks_per_s"], got["tasks_per_s"])
            if "cpu_us" in got:
                best["cpu_us"] = min(best["cpu_us"], got["cpu_us"])
            cpu = f", {got['cpu_us']:.0f} us CPU/task" if "cpu_us" in got else ""
            print(f"  {name}: {got['enqueue_ms']:.3f} ms/enqueue, {got['tasks_per_s']:,.0f}/s{cpu}")
        kettle, dramatiq = this_round[KETTLE], this_round[DRAMATIQ]
        ratios.append(
            {
                "tasks_per_s": kettle["tasks_per_s"] / dramatiq["tasks_per_s"],
                "cpu": dramatiq["cpu_us"] / kettle["cpu_us"],
            }
        )
        print(f"  round ratio Kettle/Dramatiq: {ratios[-1]['tasks_per_s']:.2f} tasks/s, "
              f"{ratios[-1]['cpu']:.2f} by CPU per task")  # fmt: skip
    request_ms = kettle_request_cost(args.requests)
    server = server_request_cost(args.server_requests, args.rounds, folder)
    kettle_rate = results[KETTLE]["tasks_per_s"]
    print(f"\n{args.tasks:,} no-op tasks, one worker of {args.threads} threads, best of "
          f"{args.rounds}\n")  # fmt: skip
    print("| system | enqueue (ms) | tasks/s | worker CPU (us/task) | Kettle / this |")
    print("|---|---:|---:|---:|---:|")
    for name, got in results.items():
        ratio = kettle_rate / got["tasks_per_s"]
        cpu = f"{got['cpu_us']:.0f}" if "cpu_us" in got else "-"
        print(
            f"| {name} | {got['enqueue_ms']:.3f} | {got['tasks_per_s']:,.0f} | {cpu} "
            f"| {ratio:.2f} |"
        )
    print(
        "\nKettle / Dramatiq per round, tasks/s: "
        + ", ".join(f"{r['tasks_per_s']:.2f}" for r in ratios)
        + "; by CPU per task: "
        + ", ".join(f"{r['cpu']:.2f}" for r in ratios)
    )
    print(f"Added to a Kettle request by one enqueue (median difference, in-process): "
          f"{request_ms:.3f} ms")  # fmt: skip
    print_server_costs(server, args.server_requests, args.rounds)
    if args.json:
        report = {
            "results": results,
            "round_ratios": ratios,
            "request_ms": request_ms,
            "server": server,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
