"""The news site against the same site written in Django (issue #13), side by side in one run.

    .venv/bin/python bench/news_vs_django.py             # demo data, 3 rounds (~8 minutes)
    .venv/bin/python bench/news_vs_django.py --smoke     # tiny data, 1 s per page, answers
                                                         # checked; writes to results/raw/
    .venv/bin/python bench/news_vs_django.py --rounds 1 --connections 8   # a busy machine

One PostgreSQL database (``kettle_news_django`` at KETTLE_BENCH_POSTGRES) is filled once by
the Kettle side (``python -m news demo --no-serve``, as news.py does), and five servers
read it: the Kettle site with its ranking cache off (``KETTLE_NEWS_RANK_CACHE_SECONDS=0``:
every front page and /top ranks again) and on (15 s, its default), both with the page cache
off (``KETTLE_NEWS_PAGE_CACHE_SECONDS=0``), and a third row with the lists also served from
the per-route page cache to signed-out readers (10 s, its default), a fourth with both
caches in Redis (``KETTLE_CACHE_URL``, from KETTLE_BENCH_REDIS, default
redis://127.0.0.1:6379/0), as several workers share them, each one Granian worker as
news.py serves it, and bench/news_django/ on gunicorn, one sync worker (Django's
deployment docs' first WSGI server). Before any load, with all five up, the harness checks
that the two sites list the same articles in the same order with the same points, authors
and comment counts, and show the same comments in the same order on the article page.
Then each round starts one server at a time, pinned to core 0 (wrk on core 1), and times
every page twice: as a first visit (wrk sends no cookie, as news.py times the site) and as
a returning reader's (wrk sends the cookies the server set on a first answer: Kettle's
session, Django's CSRF cookie).

The Kettle side runs on the interpreter that starts this script (the project's .venv);
the Django side on bench/.venv, which run.py builds from requirements.txt. A test can
import this file and call ``run_news_vs_django(smoke=True)`` to get the verified result.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import run
from run import (
    CLIENT_CPU,
    CONNECTIONS,
    HOST,
    RAW,
    RESULTS,
    VENV,
    _free_port,
    _wait_for_port,
    parse_wrk,
)
from tfb import NOISY_PCT
from tfb_measure import _TICK, Load, Started, cpu_sample

BENCH = Path(__file__).resolve().parent
DJANGO_SITE = BENCH / "news_django"
DATABASE = "kettle_news_django"
PAGES = ("/", "/top", "/articles/{id}")
KETTLE_OFF, KETTLE_ON, DJANGO = "kettle (cache off)", "kettle (cache on)", "django"
KETTLE_PAGES = "kettle (page cache on)"
KETTLE_REDIS = "kettle (page cache on Redis)"
KETTLE_ROWS = (KETTLE_OFF, KETTLE_ON, KETTLE_PAGES, KETTLE_REDIS)
SERVERS = (*KETTLE_ROWS, DJANGO)
#: How wrk's requests come: with no cookie (each one a first visit, as news.py times the
#: site), or with the cookies the server set on a first answer (a reader who came back).
FIRST, RETURNING = "first visit", "returning"
VISITS = (FIRST, RETURNING)
CACHE_SECONDS = {KETTLE_OFF: "0", KETTLE_ON: "15", KETTLE_PAGES: "15", KETTLE_REDIS: "15"}
#: The per-route page cache of the lists for signed-out readers (news_page_cache_seconds):
#: off but in its own row, since Django's site caches no page.
PAGE_CACHE_SECONDS = {KETTLE_OFF: "0", KETTLE_ON: "0", KETTLE_PAGES: "10", KETTLE_REDIS: "10"}
#: The last row keeps both caches in Redis (KETTLE_CACHE_URL), as several workers would.
REDIS_CACHE = os.environ.get("KETTLE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
GUNICORN = ["--workers", "1", "--worker-class", "sync", "--log-level", "warning"]
DEMO_COUNTS = "the demo's (1,000 users, 10,000 articles, 100,000 votes, 30,000 comments)"
VERSIONED = ("django", "gunicorn", "psycopg")  # bench/.venv's; Kettle's come from news_report


@dataclass(frozen=True)
class Settings:
    duration: int = 5  # seconds of timed load per page
    warmup: int = 2  # seconds of untimed load before each
    rounds: int = 3  # passes over every (server, page); each cell keeps its median
    retries: int = 1  # more timings of a page that other processes disturbed (tfb.timed)
    connections: int = CONNECTIONS  # wrk's; fewer keep a starved server's queue short
    counts: dict[str, int] = field(default_factory=dict)  # empty: the demo's counts
    smoke: bool = False


@dataclass
class Result:
    database: str = ""
    error: str = ""
    no_server: bool = False
    article: str = ""  # the article page timed: the front page's most commented article
    checked: dict[str, int] = field(default_factory=dict)  # page: rows or comments compared
    loads: dict[str, dict[str, Load]] = field(default_factory=dict)  # row: page: timing
    ratios: dict[str, dict[str, float]] = field(default_factory=dict)  # kettle row: page: x
    cpu_ratios: dict[str, dict[str, float]] = field(default_factory=dict)  # Django's CPU / ours

    @property
    def ok(self) -> bool:
        timings = [t for pages in self.loads.values() for t in pages.values()]
        return not self.error and bool(timings) and all(not t.error for t in timings)


def news_bench() -> ModuleType:
    """bench/news.py (its name is the news site's package's, so it is loaded by path)."""
    if "news_bench" not in sys.modules:
        spec = importlib.util.spec_from_file_location("news_bench", BENCH / "news.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["news_bench"] = module
        spec.loader.exec_module(module)
    return sys.modules["news_bench"]


# ---------------------------------------------------------------- what the pages show

_STORY = re.compile(r'<article class="story[^"]*" id="a(\d+)">(.*?)</article>', re.S)
_POINTS = re.compile(r"data-points>(\d+)<")
_AUTHOR = re.compile(r'by <a href="/users/[^"]+">([^<]+)</a>')
_COMMENTS = re.compile(r"</svg>(\d+) comments?</a>")
_COMMENT = re.compile(r'<li class="comment[^"]*" id="c(\d+)">')


def stories(page: str) -> list[tuple[int, int, str, int]]:
    """(id, points, author, comments) of every article row of PAGE, in order."""
    rows = []
    for id, row in _STORY.findall(page):
        points, author, comments = (p.search(row) for p in (_POINTS, _AUTHOR, _COMMENTS))
        rows.append(
            (
                int(id),
                int(points[1]) if points else -1,
                author[1] if author else "",
                int(comments[1]) if comments else -1,
            )
        )
    return rows


def content(page: str) -> list[Any]:
    """What two sites must agree on: the article rows, then the comment ids in order."""
    return [*stories(page), *(int(id) for id in _COMMENT.findall(page))]


def differences(ports: dict[str, int], path: str) -> tuple[list[str], int]:
    """What differs between the servers' PATH, and how many rows the Kettle site shows."""
    get = news_bench().get
    seen, problems = {}, []
    for name, port in ports.items():
        status, content_type, body = get(port, path)
        if status != 200 or not content_type.startswith("text/html"):
            problems.append(f"{name} GET {path}: {status} {content_type}")
        seen[name] = content(body)
    reference = seen[KETTLE_OFF]
    if not reference:
        problems.append(f"GET {path} shows no article on the Kettle site")
    for name, found in seen.items():
        if found != reference:
            problems.append(f"{name} GET {path} shows {found[:4]}, Kettle {reference[:4]}")
    return problems, len(reference)


def compare(ports: dict[str, int], paths: list[str], result: Result) -> str:
    """Why the servers' pages differ, or "" (one retry: a ranking may flip as time passes)."""
    problems = []
    for path in paths:
        found, rows = differences(ports, path)
        if found:
            time.sleep(1)
            found, rows = differences(ports, path)
        if found:
            problems += found
        else:
            result.checked[path] = rows
    return "; ".join(problems)


def most_commented(page: str) -> str:
    rows = stories(page)
    return f"/articles/{max(rows, key=lambda row: row[3])[0]}" if rows else ""


# ---------------------------------------------------------------- servers


def start(name: str, url: str, port: int) -> Started:
    log = RAW / f"news-vs-django-{name.split()[0]}-{port}.log"
    if name == DJANGO:
        cmd = [str(VENV / "bin" / "gunicorn"), *GUNICORN, "--bind", f"{HOST}:{port}"]
        env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "newsite.settings"}
        return Started([*cmd, "newsite.wsgi"], DJANGO_SITE, env, log)
    news = news_bench()
    granian = str(Path(sys.executable).parent / "granian")
    cmd = [granian, *news.GRANIAN, "--host", HOST, "--port", str(port), "news.app:app"]
    env = news.SERVER_ENV | {"DATABASE_URL": url}
    env |= {"KETTLE_NEWS_RANK_CACHE_SECONDS": CACHE_SECONDS[name]}
    env |= {"KETTLE_NEWS_PAGE_CACHE_SECONDS": PAGE_CACHE_SECONDS[name]}
    if name == KETTLE_REDIS:
        env |= {"KETTLE_CACHE_URL": REDIS_CACHE}
    return Started(cmd, news.NEWS, env, log)


def serve(names: tuple[str, ...], url: str) -> tuple[dict[str, Started], dict[str, int]]:
    """Start the servers NAMES (stop them with ``stop``); raises RuntimeError if one fails."""
    servers: dict[str, Started] = {}
    ports: dict[str, int] = {}
    try:
        for name in names:
            ports[name] = _free_port()
            servers[name] = start(name, url, ports[name])
        for name, server in servers.items():
            if not _wait_for_port(server.proc, ports[name], timeout=60):
                raise RuntimeError(f"{name} did not start (log {server.log.relative_to(BENCH)})")
    except BaseException:
        stop(servers)
        raise
    return servers, ports


def stop(servers: dict[str, Started]) -> None:
    for server in servers.values():
        server.stop()


def measure(url: str, settings: Settings, result: Result) -> None:
    """Check the four servers side by side, then time them one at a time.

    NOTE: each server is started for its own timings and stopped after them: a Kettle
    worker keeps a connection per handler thread (40), and four servers' pools plus a
    test suite beside them would pass PostgreSQL's 100 connections.
    """
    servers, ports = serve(SERVERS, url)
    try:
        result.article = most_commented(news_bench().get(ports[KETTLE_OFF], "/")[2])
        paths = [page.replace("/articles/{id}", result.article) for page in PAGES]
        problem = compare(ports, paths, result)
    finally:
        stop(servers)
    if problem:
        result.error = "refused to time: " + problem
        return
    rows = [label(name, visit) for name in SERVERS for visit in VISITS]
    rounds: dict[str, dict[str, list[Load]]] = {row: {p: [] for p in paths} for row in rows}
    for number in range(settings.rounds):
        for name in SERVERS:
            servers, ports = serve((name,), url)
            try:
                # NOTE: asked before any load: a server still working through the queue
                # of the last timing may take longer than a client waits.
                cookie = cookies(ports[name], "/")
                for visit in VISITS:
                    for path in paths:
                        row = label(name, visit)
                        print(f"news-vs-django: round {number + 1} {row} {path}", flush=True)
                        sent = cookie if visit == RETURNING else ""
                        pgid = servers[name].proc.pid
                        try:
                            timing = timed(path, ports[name], pgid, settings, sent)
                        except (OSError, subprocess.TimeoutExpired) as error:
                            timing = Load(error=f"{type(error).__name__}: {error}")
                        rounds[row][path].append(timing)
            finally:
                stop(servers)
    result.loads = {row: {p: median(rounds[row][p]) for p in paths} for row in rows}
    result.ratios = ratios(result.loads, paths)
    result.cpu_ratios = ratios(result.loads, paths, by="cpu")


def label(server: str, visit: str) -> str:
    return f"{server}, {visit}"


def cookies(port: int, path: str) -> str:
    """A Cookie header's value holding what the server set on a first GET of PATH."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        found = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    finally:
        conn.close()
    return "; ".join(found)


def wrk(port: int, path: str, seconds: int, cookie: str, latency: bool, connections: int) -> str:
    """tfb_measure.wrk, sending COOKIE (if any) with every request."""
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "5s", *(["--latency"] if latency else [])]
    cmd += ["-H", f"Cookie: {cookie}"] if cookie else []
    cmd.append(f"http://{HOST}:{port}{path}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout


def load(
    port: int, path: str, seconds: int, warmup: int, pgid: int, cookie: str, connections: int
) -> Load:
    """tfb_measure.load, with COOKIE: warm up, time PATH, note who else used the CPU."""
    if warmup:
        wrk(port, path, warmup, cookie, latency=False, connections=connections)
    result = Load()
    before, db_before = cpu_sample(pgid)
    output = wrk(port, path, seconds, cookie, latency=True, connections=connections)
    parse_wrk(output, result)  # type: ignore[arg-type]
    after, db_after = cpu_sample(pgid)
    wall, busy, server, wrk_cpu = (b - a for a, b in zip(before, after, strict=True))
    database = sum(ticks - db_before.get(pid, 0) for pid, ticks in db_after.items()) / _TICK
    result.server_cpu_pct = round(server / wall * 100, 1)
    if result.requests:
        result.cpu_us_per_request = round(server / result.requests * 1e6, 1)
    result.db_cpu_pct = round(max(database, 0.0) / wall * 100, 1)
    result.other_cpu_pct = round(max(busy - server - wrk_cpu - database, 0.0) / wall * 100, 1)
    return result


def timed(path: str, port: int, pgid: int, settings: Settings, cookie: str = "") -> Load:
    """tfb.timed with COOKIE: timed again (up to ``settings.retries``) while other
    processes took more than NOISY_PCT of a core; the quietest timing is kept."""
    best = load(port, path, settings.duration, settings.warmup, pgid, cookie, settings.connections)
    for _ in range(settings.retries):
        if (best.other_cpu_pct or 0) <= NOISY_PCT:
            break
        again = load(port, path, settings.duration, 0, pgid, cookie, settings.connections)
        again.attempts = best.attempts + 1
        if (again.other_cpu_pct or 0) < (best.other_cpu_pct or 0):
            best = again
        else:
            best.attempts = again.attempts
    return best


def median(loads: list[Load]) -> Load:
    """The median of the rounds that did not fail, by requests/s, whole (its latency and
    CPU come with it); failed rounds show as 0 in ``rounds_per_s``, and when every round
    failed the first failure is the cell."""
    good = [t for t in loads if not t.error]
    if not good:
        return loads[0]
    chosen = sorted(good, key=lambda t: t.requests_per_s)[(len(good) - 1) // 2]
    chosen.rounds_per_s = [0 if t.error else round(t.requests_per_s) for t in loads]
    return chosen


def ratio(kettle: Load, peer: Load, by: str) -> float | None:
    """How many times faster KETTLE was than PEER: by requests/s (``"rps"``), or by the
    server's CPU per request (``"cpu"``: the steadier measure on a shared machine)."""
    if kettle.error or peer.error:
        return None
    if by == "cpu":
        if not kettle.cpu_us_per_request or not peer.cpu_us_per_request:
            return None
        return round(peer.cpu_us_per_request / kettle.cpu_us_per_request, 2)
    return round(kettle.requests_per_s / peer.requests_per_s, 2) if peer.requests_per_s else None


def ratios(
    loads: dict[str, dict[str, Load]], paths: list[str], by: str = "rps"
) -> dict[str, dict[str, float]]:
    """Each Kettle row against Django's, page by page (see ``ratio``)."""
    found: dict[str, dict[str, float]] = {}
    for visit in VISITS:
        for name in (label(row, visit) for row in KETTLE_ROWS):
            for path in paths:
                pair = loads[name][path], loads[label(DJANGO, visit)][path]
                if (x := ratio(*pair, by)) is not None:
                    found.setdefault(name, {})[path] = x
    return found


# ---------------------------------------------------------------- run and report


def run_news_vs_django(smoke: bool = False, settings: Settings | None = None) -> Result:
    """Fill the database, check both sites, time them and write the report."""
    news = news_bench()
    if settings is None:
        settings = (
            Settings(1, 0, 1, 0, CONNECTIONS, news.SMOKE.counts, True) if smoke else Settings()
        )
    install_error = run.ensure_venv()
    if install_error:
        print(f"news-vs-django: bench/.venv has no Kettle ({install_error}); Django is enough")
    name = f"{DATABASE}_smoke_{os.getpid()}" if smoke else DATABASE
    result = Result()
    try:
        url = news.fresh_database("postgresql", name)
    except news.NoServer as error:
        return Result(error=str(error), no_server=True)
    result.database = re.sub(r"//[^@/]*@", "//", url)
    try:
        prepared = news.EngineRun("postgresql")
        news.populate(url, news.Settings(counts=settings.counts), prepared)
        measure(url, settings, result)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        if smoke:
            news.drop_database("postgresql", name)
    write(result, settings, RAW if smoke else RESULTS)
    return result


def machine() -> dict[str, Any]:
    import news_report

    info = news_report.machine()
    probe = (
        "import importlib.metadata as m, json\n"
        f"print(json.dumps({{n: m.version(n) for n in {VERSIONED!r}}}))"
    )
    done = run._venv_python(probe)
    django = json.loads(done.stdout) if done.returncode == 0 else {}
    info["versions"] |= {f"{name} (django side)": v for name, v in django.items()}
    return info


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _cell(load: Load) -> str:
    if load.error:
        return f"error: {load.error}"
    spread = ", ".join(f"{n:,}" for n in load.rounds_per_s)
    return f"{load.requests_per_s:,.0f}" + (f" ({spread})" if len(load.rounds_per_s) > 1 else "")


def markdown(result: Result, settings: Settings, info: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if k != "kettle")
    out = [
        "# The news site: Kettle against Django (issue #13)",
        "",
        f"{info['date_utc']}, {info['cpu']} ({info['cores']} cores), Python {info['python']}, "
        f"{info['wrk']}; Kettle {info['kettle_source']}; {versions}. "
        f"Load average before: {info['load_average_1m']}.",
        "",
        f"Seed counts: {settings.counts or DEMO_COUNTS}. "
        "PostgreSQL, one database for all. Kettle: one Granian worker (news.py's flags), "
        "KETTLE_ENV=production; Django (bench/news_django): gunicorn, one sync worker, "
        f"DEBUG off. Servers on core 0, `wrk -t1 -c{settings.connections}` on core 1, "
        f"{settings.warmup} s "
        f"warm-up and {settings.duration} s timed per page, median of {settings.rounds} "
        f"round(s) (every round's requests/s in brackets). *First visit*: wrk sends no "
        "cookie; *returning*: it sends the cookies the server set on a first answer. "
        f"Article page: `{result.article}`.",
        "",
    ]
    if result.error:
        out += [f"**Error:** {result.error}", ""]
    if result.checked:
        checked = ", ".join(f"`{p}` {n}" for p, n in result.checked.items())
        out += [f"Checked before timing, same rows in the same order: {checked}.", ""]
    paths = list(next(iter(result.loads.values()), {}))
    if paths:
        out += ["| server | " + " | ".join(f"`{p}` req/s" for p in paths) + " |"]
        out += ["|---|" + "---:|" * len(paths)]
        for name, pages in result.loads.items():
            out.append(f"| {name} | " + " | ".join(_cell(pages[p]) for p in paths) + " |")
        for title, found in (
            ("requests/s, Kettle / Django", result.ratios),
            ("CPU per request, Django / Kettle", result.cpu_ratios),
        ):
            out += ["", f"| {title} | " + " | ".join(f"`{p}`" for p in paths) + " |"]
            out += ["|---|" + "---:|" * len(paths)]
            for name, pages in found.items():
                cells = [f"{pages[p]:.2f}x" if p in pages else "-" for p in paths]
                out.append(f"| {name} | " + " | ".join(cells) + " |")
        out += ["", "| server | page | p50 ms | p99 ms | server CPU % | CPU µs/request | DB CPU % "]
        out[-1] += "| other CPU % |"
        out += ["|---|---|---:|---:|---:|---:|---:|---:|"]
        for name, pages in result.loads.items():
            for path, t in pages.items():
                cells = (t.p50_ms, t.p99_ms, t.server_cpu_pct, t.cpu_us_per_request)
                cells += (t.db_cpu_pct, t.other_cpu_pct)
                out.append(f"| {name} | `{path}` | " + " | ".join(map(_number, cells)) + " |")
    return "\n".join(out) + "\n"


def write(result: Result, settings: Settings, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    info = machine()
    data = {"machine": info, "settings": asdict(settings), "result": asdict(result)}
    data["result"]["ok"] = result.ok
    (folder / "news_django.json").write_text(json.dumps(data, indent=2) + "\n")
    path = folder / "news_django.md"
    path.write_text(markdown(result, settings, info))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 s per page")
    parser.add_argument("--rounds", type=int, default=Settings.rounds)
    parser.add_argument("--duration", type=int, default=Settings.duration)
    parser.add_argument("--connections", type=int, default=Settings.connections)
    args = parser.parse_args()
    settings = None
    if not args.smoke:
        settings = Settings(args.duration, rounds=args.rounds, connections=args.connections)
    result = run_news_vs_django(args.smoke, settings)
    print(result.error or json.dumps(result.ratios, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
