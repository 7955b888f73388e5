"""What tfb.py measures: the six test types, the implementations and the servers that run them.

Standard library only, like run.py (tfb.py imports it before bench/.venv exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from run import GRANIAN_FLAGS, HOST, KETTLE_ENV, VENV

BENCH = Path(__file__).resolve().parent
APPS = BENCH / "tfb_apps"
QUERIES = 20  # rows per request in the timed multiple-queries and updates tests


@dataclass(frozen=True)
class TestType:
    name: str  # the key in rows and JSON
    title: str  # the column heading
    path: str  # what wrk requests


TESTS = (
    TestType("plaintext", "plaintext", "/plaintext"),
    TestType("json", "JSON", "/json"),
    TestType("db", "1 query", "/db"),
    TestType("queries", f"{QUERIES} queries", f"/queries?queries={QUERIES}"),
    TestType("fortunes", "fortunes", "/fortunes"),
    TestType("updates", f"{QUERIES} updates", f"/updates?queries={QUERIES}"),
)
NO_DATABASE = ("plaintext", "json")  # the test types that do not read the database


@dataclass(frozen=True)
class Server:
    name: str  # "granian", "uvicorn" or "gunicorn"
    interface: str  # "asgi", "rsgi" or "wsgi"
    # Granian's and uvicorn's --loop. NOTE: uvloop, what `kettle run` serves on (the
    # fastest loop in `--servers`, bench/NOTES.md round 5), for every row alike; run.py's
    # hello-world benchmark keeps asyncio.
    loop: str = "uvloop"
    threads: int = 1  # Granian's --runtime-threads
    extra: tuple[str, ...] = ()  # more of the server's own flags
    # False where the apps' database driver cannot run: then only plaintext and JSON are
    # checked and timed.
    database: bool = True
    variant: str = ""  # how the label tells this configuration from the server's default

    def command(self, target: str, port: int) -> list[str]:
        """The command line that serves TARGET (module:attribute in tfb_apps/) on PORT."""
        bin_ = VENV / "bin"
        if self.name == "granian":
            flags = [*GRANIAN_FLAGS]
            flags[flags.index("--loop") + 1] = self.loop
            flags[flags.index("--runtime-threads") + 1] = str(self.threads)
            cmd = [str(bin_ / "granian"), *flags, *self.extra, "--interface", self.interface]
            if self.interface == "wsgi":
                # NOTE: Granian's WSGI default is backpressure/2 = 512 threads, which it warns
                # about itself; 32 (so 16 threads) keeps database connections near the async
                # apps' pools of 10-20.
                cmd += ["--backpressure", "32"]
            return [*cmd, "--host", HOST, "--port", str(port), target]
        if self.name == "uvicorn":
            return [
                *(str(bin_ / "uvicorn"), target, "--host", HOST, "--port", str(port)),
                *("--workers", "1", "--loop", self.loop, "--http", "httptools", *self.extra),
                *("--lifespan", "on", "--no-access-log", "--log-level", "warning"),
            ]
        if self.name == "gunicorn":
            return [
                *(str(bin_ / "gunicorn"), "--workers", "1", "--worker-class", "sync"),
                *("--bind", f"{HOST}:{port}", "--log-level", "warning", target),
            ]
        raise ValueError(f"unknown server {self.name!r}")

    @property
    def label(self) -> str:
        base = f"{self.name} {self.interface}" if self.name == "granian" else self.name
        return f"{base} ({self.variant})" if self.variant else base

    @property
    def slug(self) -> str:
        """The label as a file name part (server logs)."""
        return "-".join(self.label.replace("(", "").replace(")", "").replace(",", "").split())


GRANIAN_ASGI = Server("granian", "asgi")
GRANIAN_WSGI = Server("granian", "wsgi")
GRANIAN_RSGI = Server("granian", "rsgi")
UVICORN = Server("uvicorn", "asgi")
GUNICORN = Server("gunicorn", "wsgi")
DJANGO_ENV = {"DJANGO_SETTINGS_MODULE": "app_django.settings"}


@dataclass(frozen=True, eq=False)  # hashed by identity: `env` is a dict
class Implementation:
    name: str
    module: str  # imported by the import-time probe
    target: str  # module:attribute for the servers
    servers: tuple[Server, ...]
    description: str
    env: dict[str, str] = field(default_factory=dict)


RAW = "raw ASGI"
KETTLE = "kettle"
KETTLE_SYNC = "kettle (def, sync ORM)"
IMPLEMENTATIONS = (
    Implementation(
        RAW, "app_raw", "app_raw:app", (GRANIAN_ASGI, UVICORN),
        "bare ASGI callable + asyncpg pool; page built with html.escape (the ceiling)",
    ),
    Implementation(
        KETTLE, "app_kettle", "app_kettle:app", (GRANIAN_ASGI, UVICORN),
        "as the docs teach: kettle.db models (async ORM), render() + Jinja2, async def "
        "for handlers that do not block",
        KETTLE_ENV,
    ),
    Implementation(
        "kettle (asyncpg)", "app_kettle_asyncpg", "app_kettle_asyncpg:app",
        (GRANIAN_ASGI, UVICORN),
        "fastest documented path: async def, asyncpg pool from app.lifespan, render()",
        KETTLE_ENV,
    ),
    Implementation(
        KETTLE_SYNC, "app_kettle_sync", "app_kettle_sync:app", (GRANIAN_ASGI, UVICORN),
        "what a Flask user writes: def handlers (Kettle's thread pool), kettle.db's sync ORM "
        "on psycopg, render() + Jinja2",
        KETTLE_ENV,
    ),
    Implementation(
        "starlette", "app_starlette", "app_starlette:app", (GRANIAN_ASGI, UVICORN),
        "asyncpg pool from the lifespan, Jinja2Templates",
    ),
    Implementation(
        "fastapi", "app_fastapi", "app_fastapi:app", (GRANIAN_ASGI, UVICORN),
        "SQLAlchemy asyncio ORM (asyncpg), session dependency, Jinja2Templates",
    ),
    Implementation(
        "flask", "app_flask", "app_flask:app", (GRANIAN_WSGI, GUNICORN),
        "SQLAlchemy ORM (psycopg), scoped session, render_template",
    ),
    Implementation(
        "django", "app_django.wsgi", "app_django.wsgi:application", (GRANIAN_WSGI, GUNICORN),
        "Django ORM (psycopg, CONN_MAX_AGE=60), Django templates, SecurityMiddleware",
        DJANGO_ENV,
    ),
    Implementation(
        "emmett", "app_emmett", "app_emmett:app", (GRANIAN_RSGI,),
        "Emmett's ORM (pyDAL, psycopg2, its default pool of 5) and pipe, @service.json, "
        "Renoir template; Granian RSGI as `emmett serve` runs it",
    ),
    Implementation(
        "blacksheep", "app_blacksheep", "app_blacksheep:app", (GRANIAN_ASGI, UVICORN),
        "asyncpg pool from on_start, injected by type; view() with its Jinja2 renderer",
        {"APP_JINJA_EXTENSION": ".html"},
    ),
    Implementation(
        "litestar", "app_litestar", "app_litestar:app", (GRANIAN_ASGI, UVICORN),
        "SQLAlchemyPlugin (advanced-alchemy, asyncpg), injected db_session with autocommit, "
        "Jinja2 Template",
    ),
)  # fmt: skip

#: `tfb.py --servers`: the configurations `kettle run --production` chooses between, each
#: serving the raw ASGI app and Kettle as its docs teach. Granian's blocking threads are
#: not among them: on ASGI Granian refuses more than one ("Blocking threads > 1 is not
#: supported on ASGI and RSGI"); Kettle's `def` handlers run in Kettle's own thread pool.
SERVER_MATRIX = (
    Server("granian", "asgi", loop="asyncio", variant="asyncio"),  # what `kettle run` used
    GRANIAN_ASGI,  # one runtime thread, uvloop: what `kettle run` uses
    # NOTE: rloop 0.5 cannot run asyncpg's connection set-up (it asks the transport to
    # change protocol for the SSL negotiation: "TCPTransport protocol cannot be changed").
    Server("granian", "asgi", loop="rloop", database=False, variant="rloop, no database"),
    Server("granian", "asgi", extra=("--task-impl", "rust"), variant="rust tasks"),
    Server("granian", "asgi", threads=2, variant="2 threads"),
    Server("uvicorn", "asgi", loop="asyncio", variant="asyncio"),
    UVICORN,  # httptools, uvloop: uvicorn[standard]'s own choice
)  # fmt: skip
SERVER_MATRIX_APPS = (RAW, KETTLE)

#: The (implementation, server) pairs a smoke run starts: every implementation on Granian,
#: and each other server once, so every app and every server command is exercised.
SMOKE_EXTRA = {(RAW, "uvicorn"), ("flask", "gunicorn")}


def combinations(
    smoke: bool, only: list[str] | None = None, servers: bool = False
) -> list[tuple[Implementation, Server]]:
    """The (implementation, server) pairs to measure, in table order. ONLY names
    implementations (`kettle` is every Kettle row, `kettle (asyncpg)` just that one);
    SERVERS pairs each chosen ASGI implementation (raw ASGI and Kettle unless ONLY says)
    with every configuration of SERVER_MATRIX instead of its own servers."""
    pairs = []
    for impl in IMPLEMENTATIONS:
        if only and impl.name.split()[0] not in only and impl.name not in only:
            continue
        if servers:
            if (only and GRANIAN_ASGI in impl.servers) or impl.name in SERVER_MATRIX_APPS:
                pairs += [(impl, server) for server in SERVER_MATRIX]
            continue
        for server in impl.servers:
            if smoke and server.name != "granian" and (impl.name, server.name) not in SMOKE_EXTRA:
                continue
            pairs.append((impl, server))
    return pairs
