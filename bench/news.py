"""The news site under load: its front page, /top, /new and an article, on SQLite and PostgreSQL.

    .venv/bin/python bench/news.py            # demo data, 5 s of wrk per page (about 2 minutes)
    .venv/bin/python bench/news.py --smoke    # tiny data, 1 s per page, answers checked;
                                              # writes to results/raw/
    .venv/bin/python bench/news.py --only sqlite --duration 10

For each engine it makes a fresh database (SQLite in results/raw/, PostgreSQL's
``kettle_news`` at KETTLE_BENCH_POSTGRES), fills it with ``python -m news demo --no-serve``
(migrations, roles, demo accounts, the seed data; its time is reported), records the
queries each page runs and their plans (news_plans.py), then serves the site with one
Granian worker pinned to core 0 and loads each page with wrk pinned to core 1, as tfb.py
does. Like orm.py it runs on the interpreter that starts it (the project's .venv). A test
can import this file and call ``run_news(smoke=True)`` to get the verified rows.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import news_report
from run import HOST, RAW, RESULTS, _free_port, _wait_for_port
from tfb_measure import Load, Started, load

REPO = Path(__file__).resolve().parents[1]
NEWS = REPO / "examples" / "news"
SERVER_URL = os.environ.get("KETTLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ENGINES = ("sqlite", "postgresql")
PAGES = ("/", "/top", "/new", "/articles/{id}")
SERVER_ENV = {
    "KETTLE_ENV": "production",
    "KETTLE_SECRET_KEY": "bench-secret",
    "KETTLE_ALLOWED_HOSTS": "127.0.0.1,localhost",
    # Every page rendered, as before the news site cached pages for signed-out readers
    # (news_vs_django.py times that cache in a row of its own).
    "KETTLE_NEWS_PAGE_CACHE_SECONDS": "0",
}
GRANIAN = ["--interface", "asgi", "--workers", "1", "--runtime-threads", "1"]
GRANIAN += ["--loop", "uvloop", "--http", "1", "--no-ws", "--log-level", "warning"]


@dataclass(frozen=True)
class Settings:
    duration: int = 5  # seconds of timed load per page
    warmup: int = 2  # seconds of untimed load before each
    counts: dict[str, int] = field(default_factory=dict)  # empty: the demo's counts


SMOKE = Settings(
    duration=1,
    warmup=0,
    counts={"users": 40, "articles": 150, "votes": 900, "comments": 300, "comment_votes": 60},
)


@dataclass
class EngineRun:
    engine: str
    database: str = ""  # the URL, without a password
    error: str = ""
    no_server: bool = False  # PostgreSQL was not reachable
    prepare_s: float | None = None  # python -m news demo --no-serve, all of it
    seed_s: float | None = None  # the seed step alone, as it reported
    seed_rows: int | None = None
    article: str = ""  # the article page measured: the front page's first link
    loads: dict[str, Load] = field(default_factory=dict)
    plans: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and all(not r.error for r in self.loads.values())


class NoServer(RuntimeError):
    """PostgreSQL is not reachable at KETTLE_BENCH_POSTGRES."""


# ---------------------------------------------------------------- databases


def fresh_database(engine: str, name: str) -> str:
    """An empty database for ENGINE; returns its URL."""
    if engine == "sqlite":
        path = RAW / f"{name}.sqlite3"
        RAW.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return SERVER_URL.rstrip("/") + "/" + name


def drop_database(engine: str, name: str) -> None:
    if engine == "sqlite":
        (RAW / f"{name}.sqlite3").unlink(missing_ok=True)
    else:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres(*statements: str) -> None:
    import sqlalchemy as sa

    url = sa.make_url(SERVER_URL).set(drivername="postgresql+psycopg", database="postgres")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    except sa.exc.OperationalError as error:
        raise NoServer(f"no PostgreSQL at {SERVER_URL}: {str(error.orig).strip()[:200]}") from None
    finally:
        engine.dispose()


def populate(url: str, settings: Settings, run: EngineRun) -> None:
    """Migrate, create roles and demo accounts, and seed: ``python -m news demo --no-serve``."""
    env = {**os.environ, "DATABASE_URL": url, "KETTLE_ENV": "development", "NO_COLOR": "1"}
    env |= {f"NEWS_SEED_{name.upper()}": str(n) for name, n in settings.counts.items()}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "news", "demo", "--no-serve"],
        cwd=NEWS, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    run.prepare_s = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        raise RuntimeError(f"python -m news demo failed: {(done.stderr or done.stdout)[-400:]}")
    if match := re.search(r"Seed data ([\d,]+) rows in ([\d.]+) s", done.stdout):
        run.seed_rows, run.seed_s = int(match[1].replace(",", "")), float(match[2])


# ---------------------------------------------------------------- pages


def get(port: int, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of GET PATH."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("content-type") or "", response.read().decode()
    finally:
        conn.close()


def check(port: int, path: str) -> str:
    """Why PATH answered wrongly, or ""."""
    status, content_type, body = get(port, path)
    if status != 200:
        return f"GET {path} answered {status}: {body[:120]!r}"
    if not content_type.startswith("text/html") or "<html" not in body.lower():
        return f"GET {path} is not an HTML page ({content_type})"
    return ""


def measure(engine: str, settings: Settings, name: str) -> EngineRun:
    run = EngineRun(engine)
    try:
        url = fresh_database(engine, name)
    except NoServer as error:
        return EngineRun(engine, error=str(error), no_server=True)
    run.database = re.sub(r"//[^@/]*@", "//", url) if "@" in url else url
    started = None
    try:
        populate(url, settings, run)
        port = _free_port()
        granian = str(Path(sys.executable).parent / "granian")
        cmd = [granian, *GRANIAN, "--host", HOST, "--port", str(port), "news.app:app"]
        env = {**SERVER_ENV, "DATABASE_URL": url}
        started = Started(cmd, NEWS, env, RAW / f"news-{engine}.log")
        if not _wait_for_port(started.proc, port, timeout=60):
            run.error = f"the server did not start (log {started.log.relative_to(REPO)})"
            return run
        first = re.search(r'href="(/articles/\d+)"', get(port, "/")[2])
        run.article = first[1] if first else ""
        paths = [p.replace("/articles/{id}", run.article) for p in PAGES]
        if problems := [p for p in (check(port, path) for path in paths) if p]:
            run.error = "refused to time: " + "; ".join(problems)
            return run
        run.plans = plans(url, paths)
        for path in paths:
            run.loads[path] = load(port, path, settings.duration, settings.warmup, started.proc.pid)
    except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
        run.error = f"{type(error).__name__}: {error}"
    finally:
        if started is not None:
            started.stop()
    return run


def plans(url: str, paths: list[str]) -> dict[str, Any]:
    """What news_plans.py reports for PATHS: each page's queries and their plans."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("news_plans.py")), url, *paths],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"news_plans.py failed: {done.stderr.strip()[-400:]}")
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def run_news(
    smoke: bool = False, only: tuple[str, ...] = ENGINES, duration: int | None = None
) -> list[EngineRun]:
    """Measure each engine in ONLY and write the report; returns the rows."""
    settings = SMOKE if smoke else Settings()
    if duration:
        settings = Settings(duration, settings.warmup, settings.counts)
    name = f"kettle_news_smoke_{os.getpid()}" if smoke else "kettle_news"
    runs = []
    for engine in only:
        runs.append(measure(engine, settings, name))
        if smoke and not runs[-1].no_server:
            drop_database(engine, name)
    news_report.write(runs, settings, RAW if smoke else RESULTS)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s per page")
    parser.add_argument("--only", default=",".join(ENGINES), help="sqlite,postgresql")
    parser.add_argument("--duration", type=int, help="seconds of wrk per page")
    args = parser.parse_args()
    runs = run_news(args.smoke, tuple(args.only.split(",")), args.duration)
    for run in runs:
        print(f"{run.engine}: " + (run.error or "ok"))
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
