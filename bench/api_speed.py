"""A JSON API three ways: a Kettle resource, Django REST framework and FastAPI (issue #14).

    .venv/bin/python bench/api_speed.py             # 3 rounds, 5 s per endpoint (~3 minutes)
    .venv/bin/python bench/api_speed.py --smoke     # 1 s per endpoint, answers checked;
                                                    # writes to results/raw/
    .venv/bin/python bench/api_speed.py --rounds 1 --duration 10

One PostgreSQL database (``kettle_api`` at KETTLE_BENCH_POSTGRES) holds 50 authors and
1,000 articles (id, title, url, score, created, author). Each app in bench/api/ answers
``GET /api/articles`` (the first 20 by id, with each author nested as {id, username}) and
``GET /api/articles/500``, written as its own docs teach:

- Kettle: ``kettle.resources.Resource`` with ``nested = {"author": ...}``, mounted with
  ``app.resource`` (app_kettle.py), on Granian and on uvicorn;
- Django REST framework: ``ModelSerializer`` with a nested author serializer,
  ``ListAPIView`` / ``RetrieveAPIView``, ``PageNumberPagination`` of 20 (app_drf/), on
  gunicorn, one sync worker;
- FastAPI: SQLAlchemy's asyncio ORM, a session dependency, Pydantic response models
  (app_fastapi.py), on Granian and on uvicorn.

Servers and wrk run as in tfb.py (one worker on core 0, wrk on core 1, tfb_specs's
commands). Before any load every app's answers are compared with the rows inserted: the
same 20 articles in order, the same retrieved article, a 404 for a missing id. Each round
starts every server in turn, times both endpoints and stops it; each cell keeps its median.
Runs on the project's .venv (it seeds with psycopg); the servers run from bench/.venv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import run
from news_vs_django import median, ratio, timed
from run import CONNECTIONS, HOST, RAW, RESULTS, _free_port, _wait_for_port
from tfb_measure import Load, Started
from tfb_specs import GRANIAN_ASGI, GUNICORN, KETTLE_ENV, UVICORN, Server

BENCH = Path(__file__).resolve().parent
APPS = BENCH / "api"
SERVER_URL = os.environ.get("KETTLE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "kettle_api"
AUTHORS, ARTICLES, PAGE = 50, 1000, 20
RETRIEVED = 500
ENDPOINTS = {"list": "/api/articles", "retrieve": f"/api/articles/{RETRIEVED}"}
VERSIONED = ("kettle", "django", "djangorestframework", "fastapi", "pydantic", "sqlalchemy")
VERSIONED += ("asyncpg", "psycopg", "granian", "uvicorn", "gunicorn")


@dataclass(frozen=True)
class App:
    name: str
    target: str  # module:attribute in bench/api/
    server: Server
    env: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.server.label})"


KETTLE = "kettle"
DJANGO_ENV = {"DJANGO_SETTINGS_MODULE": "app_drf.settings"}
APPS_MEASURED = (
    App(KETTLE, "app_kettle:app", GRANIAN_ASGI, KETTLE_ENV),
    App(KETTLE, "app_kettle:app", UVICORN, KETTLE_ENV),
    App("django rest framework", "app_drf.wsgi:application", GUNICORN, DJANGO_ENV),
    App("fastapi", "app_fastapi:app", GRANIAN_ASGI),
    App("fastapi", "app_fastapi:app", UVICORN),
)


@dataclass(frozen=True)
class Settings:
    duration: int = 5  # seconds of timed load per endpoint
    warmup: int = 2  # seconds of untimed load before each
    rounds: int = 3  # passes over every app; each cell keeps its median
    retries: int = 1  # more timings of an endpoint other processes disturbed (tfb.timed)
    connections: int = CONNECTIONS  # wrk's; fewer keep a starved server's queue short
    smoke: bool = False


SMOKE = Settings(duration=1, warmup=0, rounds=1, retries=0, smoke=True)


@dataclass
class Row:
    app: str
    server: str
    error: str = ""  # why it was not (fully) timed
    loads: dict[str, Load] = field(default_factory=dict)  # endpoint: timing

    @property
    def ok(self) -> bool:
        return not self.error and all(not t.error for t in self.loads.values())


class NoServer(RuntimeError):
    """PostgreSQL is not reachable at KETTLE_BENCH_POSTGRES."""


# ---------------------------------------------------------------- data


def article(n: int) -> dict[str, Any]:
    """Article N of the seed, as every app must answer it."""
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=37 * n)
    author = 1 + n * 7 % AUTHORS
    return {
        "id": n,
        "title": f"Article {n}: what a kettle <b>&</b> a teapot share",
        "url": f"https://example.com/{n}",
        "score": n * 31 % 500,
        "created": created,
        "author": {"id": author, "username": f"author_{author:03}"},
    }


def seed(url: str) -> None:
    """Create and fill the tables (the apps map onto them; none migrates)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS article, author")
        conn.execute(
            "CREATE TABLE author (id bigserial PRIMARY KEY, username varchar(150) NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE article (id bigserial PRIMARY KEY, title varchar(200) NOT NULL,"
            " url varchar(500) NOT NULL, score integer NOT NULL,"
            " created timestamptz NOT NULL,"
            " author_id bigint NOT NULL REFERENCES author (id))"
        )
        with conn.cursor() as cursor:
            authors = [(n, f"author_{n:03}") for n in range(1, AUTHORS + 1)]
            cursor.executemany("INSERT INTO author (id, username) VALUES (%s, %s)", authors)
            rows = [article(n) for n in range(1, ARTICLES + 1)]
            cursor.executemany(
                "INSERT INTO article (id, title, url, score, created, author_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(a["id"], a["title"], a["url"], a["score"], a["created"], a["author"]["id"])
                 for a in rows],
            )  # fmt: skip
        conn.execute("CREATE INDEX ON article (author_id)")
        conn.execute("ANALYZE article, author")


def fresh_database(name: str) -> str:
    import psycopg

    try:
        with psycopg.connect(SERVER_URL.rstrip("/") + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        raise NoServer(f"no PostgreSQL at {SERVER_URL}: {str(error).strip()[:200]}") from None
    return SERVER_URL.rstrip("/") + "/" + name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(SERVER_URL.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- checks


def get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        conn.close()


def normal(item: Any) -> Any:
    """An answered article with its date as an aware datetime (formats differ: Z, +00:00)."""
    if not isinstance(item, dict) or not isinstance(item.get("created"), str):
        return item
    created = dt.datetime.fromisoformat(item["created"].replace("Z", "+00:00"))
    return item | {"created": created}


def items(body: Any) -> Any:
    """The list of a list answer: Kettle's ``items``, DRF's ``results``, FastAPI's array."""
    if isinstance(body, dict):
        return body.get("items", body.get("results"))
    return body


def verify(port: int) -> str:
    """Why the app on PORT answers wrongly, or ""."""
    problems = []
    expected = {"list": [article(n) for n in range(1, PAGE + 1)], "retrieve": article(RETRIEVED)}
    for endpoint, path in ENDPOINTS.items():
        status, content_type, raw = get(port, path)
        if status != 200 or not content_type.startswith("application/json"):
            problems.append(f"GET {path} answered {status} {content_type}: {raw[:120]!r}")
            continue
        body = json.loads(raw)
        found = [normal(i) for i in items(body) or []] if endpoint == "list" else normal(body)
        if found != expected[endpoint]:
            shown = found[:2] if isinstance(found, list) else found
            problems.append(f"GET {path} answered {str(shown)[:300]}")
    status, _, raw = get(port, f"/api/articles/{ARTICLES + 1}")
    if status != 404:
        problems.append(f"GET /api/articles/{ARTICLES + 1} answered {status}, not 404")
    return "; ".join(problems)


# ---------------------------------------------------------------- timing


def measure(app: App, url: str, settings: Settings) -> Row:
    """One round of APP: start it, check it, time both endpoints, stop it."""
    row = Row(app.name, app.server.label)
    port = _free_port()
    log = RAW / f"api-{app.name.split()[0]}-{app.server.name}.log"
    started = Started(
        app.server.command(app.target, port), APPS, app.env | {"DATABASE_URL": url}, log
    )
    try:
        if not _wait_for_port(started.proc, port, timeout=60):
            row.error = f"the server did not start: {run._error_line(log.read_text())}"
            row.error += f" (log {log.relative_to(BENCH)})"
            return row
        if problem := verify(port):
            row.error = "refused to time: " + problem
            return row
        for endpoint, path in ENDPOINTS.items():
            print(f"api: {app.label} {endpoint}", flush=True)
            row.loads[endpoint] = timed(path, port, started.proc.pid, settings)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        row.error = f"{type(error).__name__}: {error}"
    finally:
        started.stop()
    return row


def ratios(rows: list[Row], by: str = "rps") -> dict[str, dict[str, dict[str, float]]]:
    """{Kettle row: {peer row: {endpoint: how many times faster Kettle was}}}, by
    requests/s or by CPU per request (``news_vs_django.ratio``)."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    for kettle in [r for r in rows if r.app == KETTLE and r.ok]:
        mine = found.setdefault(f"{kettle.app} ({kettle.server})", {})
        for peer in [r for r in rows if r.app != KETTLE and r.ok]:
            pair = {e: ratio(t, peer.loads[e], by) for e, t in kettle.loads.items()}
            mine[f"{peer.app} ({peer.server})"] = {e: x for e, x in pair.items() if x is not None}
    return found


def run_api(
    smoke: bool = False, settings: Settings | None = None, out: Path | None = None
) -> list[Row]:
    """Seed, check and time every app; write the report (to ``out`` when given); return
    the rows.

    Raises NoServer without PostgreSQL.
    """
    settings = settings or (SMOKE if smoke else Settings())
    install_error = run.ensure_venv()
    name = f"{DATABASE}_smoke_{os.getpid()}" if smoke else DATABASE
    url = fresh_database(name)
    try:
        seed(url)
        rounds = [
            [measure(app, url, settings) for app in APPS_MEASURED] for _ in range(settings.rounds)
        ]
    finally:
        if smoke:
            drop_database(name)
    rows = []
    for measured in zip(*rounds, strict=True):
        row = Row(measured[0].app, measured[0].server)
        row.error = next((r.error for r in measured if r.error), "")
        if row.app == KETTLE and install_error:
            row.error = row.error or f"pip install -e .. failed: {install_error}"
        if not row.error:
            row.loads = {e: median([r.loads[e] for r in measured]) for e in ENDPOINTS}
        rows.append(row)
    write(rows, settings, out or (RAW if smoke else RESULTS))
    return rows


# ---------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import news_report

    info = news_report.machine()
    probe = (
        "import importlib.metadata as m, json\n"
        "def v(name):\n"
        "    try: return m.version(name)\n"
        "    except m.PackageNotFoundError: return None\n"
        f"print(json.dumps({{n: v(n) for n in {VERSIONED!r}}}))"
    )
    done = run._venv_python(probe)
    info["versions"] = json.loads(done.stdout) if done.returncode == 0 else {}
    return info


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def markdown(rows: list[Row], settings: Settings, info: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if k != "kettle")
    out = [
        "# A JSON API: Kettle resources against DRF and FastAPI (issue #14)",
        "",
        f"{info['date_utc']}, {info['cpu']} ({info['cores']} cores), Python {info['python']}, "
        f"{info['wrk']}; Kettle {info['kettle_source']}; {versions}. "
        f"Load average before: {info['load_average_1m']}.",
        "",
        f"PostgreSQL, {AUTHORS} authors and {ARTICLES:,} articles. `list` is "
        f"`GET {ENDPOINTS['list']}` ({PAGE} articles with their authors nested), `retrieve` "
        f"`GET {ENDPOINTS['retrieve']}`. One worker on core 0, "
        f"`wrk -t1 -c{settings.connections}` on core 1, "
        f"{settings.warmup} s warm-up and {settings.duration} s timed per endpoint, median "
        f"of {settings.rounds} round(s) (every round's requests/s in brackets).",
        "",
        "| app | server | list req/s | retrieve req/s |",
        "|---|---|---:|---:|",
    ]
    for row in rows:
        if row.error:
            out.append(f"| {row.app} | {row.server} | error: {row.error} | |")
            continue
        cells = []
        for t in row.loads.values():
            spread = ", ".join(f"{n:,}" for n in t.rounds_per_s)
            more = f" ({spread})" if len(t.rounds_per_s) > 1 else ""
            cells.append(f"error: {t.error}" if t.error else f"{t.requests_per_s:,.0f}{more}")
        out.append(f"| {row.app} | {row.server} | " + " | ".join(cells) + " |")
    for by, title in (("rps", "by requests/s"), ("cpu", "by CPU per request")):
        found = ratios(rows, by)
        if not found:
            continue
        out += ["", f"| Kettle over ({title}: list / retrieve) | " + " | ".join(found) + " |"]
        out += ["|---|" + "---:|" * len(found)]
        for peer in next(iter(found.values())):
            cells = []
            for kettle in found.values():
                pair = kettle.get(peer, {})
                cells.append(" / ".join(f"{pair[e]:.2f}x" for e in ENDPOINTS if e in pair))
            out.append(f"| {peer} | " + " | ".join(cells) + " |")
    out += ["", "| app | server | endpoint | p50 ms | p99 ms | server CPU % | CPU µs/request "]
    out[-1] += "| DB CPU % | other CPU % |"
    out += ["|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        for endpoint, t in row.loads.items():
            cells = (t.p50_ms, t.p99_ms, t.server_cpu_pct, t.cpu_us_per_request)
            cells += (t.db_cpu_pct, t.other_cpu_pct)
            out.append(
                f"| {row.app} | {row.server} | {endpoint} | "
                + " | ".join(map(_number, cells))
                + " |"
            )
    return "\n".join(out) + "\n"


def write(rows: list[Row], settings: Settings, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    info = machine()
    data = {
        "machine": info,
        "settings": asdict(settings),
        "rows": [asdict(row) | {"ok": row.ok} for row in rows],
        "ratios": ratios(rows),
        "cpu_ratios": ratios(rows, "cpu"),
    }
    (folder / "api.json").write_text(json.dumps(data, indent=2) + "\n")
    path = folder / "api.md"
    path.write_text(markdown(rows, settings, info))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="1 s per endpoint")
    parser.add_argument("--rounds", type=int, default=Settings.rounds)
    parser.add_argument("--duration", type=int, default=Settings.duration)
    parser.add_argument("--connections", type=int, default=Settings.connections)
    parser.add_argument(
        "--out", type=Path, help="write api.md/api.json here instead of results/ (trial runs)"
    )
    args = parser.parse_args()
    settings = None
    if not args.smoke:
        settings = Settings(args.duration, rounds=args.rounds, connections=args.connections)
    try:
        rows = run_api(args.smoke, settings, args.out)
    except NoServer as error:
        print(f"api: {error}")
        return 2
    for row in rows:
        print(f"{row.app} ({row.server}): " + (row.error or "ok"))
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
