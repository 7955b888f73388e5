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


@dataclass(frozen=True)
class Server:
    name: str
    interface: str  # "asgi" or "wsgi"

    def command(self, target: str, port: int) -> list[str]:
        """The command line that serves TARGET (module:attribute in tfb_apps/) on PORT."""
        bin_ = VENV / "bin"
        if self.name == "granian":
            cmd = [str(bin_ / "granian"), *GRANIAN_FLAGS, "--interface", self.interface]
            if self.interface == "wsgi":
                # NOTE: Granian's WSGI default is backpressure/2 = 512 threads, which it warns
                # about itself; 32 (so 16 threads) keeps database connections near the async
                # apps' pools of 10-20.
                cmd += ["--backpressure", "32"]
            return [*cmd, "--host", HOST, "--port", str(port), target]
        if self.name == "uvicorn":
            return [
                *(str(bin_ / "uvicorn"), target, "--host", HOST, "--port", str(port)),
                *("--workers", "1", "--loop", "asyncio", "--http", "httptools"),
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
        return f"{self.name} {self.interface}" if self.name == "granian" else self.name


GRANIAN_ASGI = Server("granian", "asgi")
GRANIAN_WSGI = Server("granian", "wsgi")
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
)  # fmt: skip

#: The (implementation, server) pairs a smoke run starts: every implementation on Granian,
#: and each other server once, so every app and every server command is exercised.
SMOKE_EXTRA = {(RAW, "uvicorn"), ("flask", "gunicorn")}


def combinations(smoke: bool, only: list[str] | None = None) -> list[tuple[Implementation, Server]]:
    """The (implementation, server) pairs to measure, in table order."""
    pairs = []
    for impl in IMPLEMENTATIONS:
        if only and impl.name.split()[0] not in only and impl.name not in only:
            continue
        for server in impl.servers:
            if smoke and server.name != "granian" and (impl.name, server.name) not in SMOKE_EXTRA:
                continue
            pairs.append((impl, server))
    return pairs
