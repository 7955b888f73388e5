"""The news site deployed as docs/deployment.md describes, for the nginx test and the soak
benchmark: two `kettle run` processes behind nginx, on a PostgreSQL primary and replica of
their own (tests/db/pgreplica.py) and Redis.

    with deployment(tmp_path, users=30, articles=100) as site:
        httpx.get(site.url + "/api/front")
        site.restart_process(1)            # SIGTERM, then start it again
        site.restart_primary()             # PostgreSQL goes away for a moment

nginx comes from the Debian package: ``nginx_binary()`` installs it with apt-get when it is
missing and the tests run as root under CI, and otherwise says what to run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from db.pgreplica import PrimaryAndReplica, binaries, primary_and_replica
from servers import REPO_ROOT, _popen, _read, _stop, _wait_for_port, free_port

NEWS = REPO_ROOT / "examples" / "news"
#: What a started process must answer before it takes traffic (the site has no Health).
READY = "/api/front"
SECRET_KEY = "deployment-test-secret-key-0123456789abcdef"
PASSWORD = "tea-at-altitude-1865"
#: The Redis database these tests use, emptied of the site's keys before each deployment.
REDIS_URL = os.environ.get("KETTLE_TEST_REDIS_DEPLOY", "redis://127.0.0.1:6379/13")

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream news {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Request-ID $request_id;
        proxy_connect_timeout 1s;
        proxy_read_timeout 30s;
        proxy_next_upstream error timeout http_502;
        proxy_next_upstream_tries 2;
        add_header X-Upstream $upstream_addr always;
        location /static/ {{
            alias {static}/;
        }}
        location / {{
            proxy_pass http://news;
        }}
        # The API's votes are idempotent (one row per user and article, added with the
        # points in one transaction; a repeat is a 409 that changes nothing): a vote
        # that reached a process that died goes to the other (docs/deployment.md).
        location ~ ^/api/(votes|articles/[0-9]+/vote|comments/[0-9]+/vote)$ {{
            proxy_pass http://news;
            proxy_next_upstream error timeout http_502 non_idempotent;
        }}
    }}
}}
"""

SETUP = """\
import json, sys
from kettle.auth import ApiToken, Argon2Hasher, AuthOptions, User
from kettle.db import fields
from news.app import create_app
from news.models import Article
from news.roles import READER, ensure_roles, grant_role

users, articles, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
app = create_app(auth_options=AuthOptions(hasher=Argon2Hasher(memory_cost=256, time_cost=1)))
db = app.state.db
out = {"tokens": [], "articles": [], "usernames": []}
with db.session():
    ensure_roles()
    for n in range(users):
        user = User(username=f"reader{n}", email=f"reader{n}@example.org")
        user.set_password(password)
        user.save()
        grant_role(user, READER)
        out["tokens"].append(ApiToken.issue(user, "load")[1])
        out["usernames"].append(user.username)
    author = User.objects.get(username="reader0")
    for n in range(articles):
        article = Article.objects.create(
            title=f"Kettles, part {n}", url=f"https://example.com/{n}", domain="example.com",
            author_id=author.id, created=fields.now(),
        )
        out["articles"].append(article.id)
db.dispose()
print(json.dumps(out))
"""


def nginx_binary() -> str:
    """nginx's path; installs the Debian package when missing and allowed (root, apt-get),
    else raises saying what to run."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, timeout=300)
        found = shutil.which("nginx", path="/usr/sbin:/usr/bin")
        if found:
            return found
    raise RuntimeError("nginx is not installed; run `sudo apt-get install -y nginx`.")


@dataclass
class Process:
    """One `kettle run` serving the site."""

    port: int
    command: list[str]
    env: dict[str, str]
    output: IO[bytes]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers: Granian listens before its worker is up,
        and a rolling restart must not stop the next process before this one serves."""
        self.popen = _popen(self.command, NEWS, self.env, self.output)
        _wait_for_port(self.port, self.popen, self.output, 60, " ".join(self.command))
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}{READY}", timeout=5).is_success:
                    return
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"The site did not answer {READY}:\n{_read(self.output)}")
            time.sleep(0.1)

    def terminate(self, grace: float = 15) -> int:
        """SIGTERM (as a deploy sends it); returns the exit code."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=grace)


@dataclass
class Deployment:
    """The running site: nginx's URL, the processes and the database pair."""

    url: str
    processes: list[Process]
    database: PrimaryAndReplica
    tokens: list[str]
    usernames: list[str]
    articles: list[int]
    root: Path
    bin_dir: str
    log: dict[str, str] = field(default_factory=dict)

    def restart_process(self, index: int, down_for: float = 0.0) -> int:
        """SIGTERM one `kettle run`, wait ``down_for`` seconds, start it again; returns
        the exit code it stopped with."""
        code = self.processes[index].terminate()
        time.sleep(down_for)
        self.processes[index].start()
        return code

    def kill_process(self, index: int, down_for: float = 0.0, freeze: float = 0.0) -> None:
        """SIGKILL one `kettle run` and its workers (a crash), wait ``down_for`` seconds,
        start it again. With ``freeze``, stop it (SIGSTOP) that many seconds first, as a
        process that hangs before it dies: the requests sent to it meanwhile are in
        flight when it dies, whatever the machine's speed."""
        popen = self.processes[index].popen
        assert popen is not None
        if freeze:
            os.killpg(popen.pid, signal.SIGSTOP)
            time.sleep(freeze)
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(timeout=10)
        # NOTE: the workers die a moment after the main process; one still holding the
        # port would make the new process fail to listen.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(popen.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        time.sleep(down_for)
        self.processes[index].start()

    def restart_primary(self, down_for: float = 2.0) -> None:
        """Stop the PostgreSQL primary (fast: connections are cut), wait, start it again."""
        data = os.path.join(self.database.directory, "primary")
        port = self.database.primary_url.rsplit(":", 1)[1].split("/")[0]
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        pg_ctl = f"{self.bin_dir}/pg_ctl"
        subprocess.run([*as_user, pg_ctl, "stop", "-m", "fast", "-w", "-D", data], check=True)
        time.sleep(down_for)
        log = os.path.join(data, "server.log")
        options = f"-p {port} -k {data}"
        subprocess.run(
            [*as_user, pg_ctl, "start", "-w", "-D", data, "-l", log, "-o", options], check=True
        )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` on the primary."""
        with self.database.engine("primary").connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]


@contextlib.contextmanager
def deployment(
    folder: Path,
    *,
    users: int,
    articles: int,
    processes: int = 2,
    workers: int = 1,
    **settings: str,
) -> Iterator[Deployment]:
    """The site behind nginx (see the module docstring): ``processes`` `kettle run`s of
    ``workers`` workers each; ``settings`` are extra KETTLE_* variables for all of them.
    Everything stops at the end."""
    nginx = nginx_binary()
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("No PostgreSQL server binaries under /usr/lib/postgresql/*/bin.")
    _forget_site_keys()
    # NOTE: the servers run as the postgres user, which must be able to enter the folder.
    with (
        primary_and_replica(tempfile.gettempdir()) as pair,
        contextlib.ExitStack() as stack,
    ):
        env = _site_env(pair, settings)
        migrate = [sys.executable, "-m", "kettle.cli", "db", "migrate", "--app", "news.app:app"]
        _run(migrate, env)
        setup = [sys.executable, "-c", SETUP, str(users), str(articles), PASSWORD]
        made = json.loads(_run(setup, env))
        pair.wait_caught_up()
        started: list[Process] = []
        for _ in range(processes):
            port = free_port()
            command = [sys.executable, "-m", "kettle.cli", "run", "news.app:app"]
            command += ["--production", "--port", str(port), "--grace", "10"]
            command += ["--workers", str(workers)]
            output = stack.enter_context(tempfile.TemporaryFile())
            process = Process(port, command, env, output)
            stack.callback(lambda p=process: p.popen and _stop(p.popen))
            process.start()
            started.append(process)
        port = free_port()
        servers = "\n".join(
            f"        server 127.0.0.1:{p.port} max_fails=1 fail_timeout=2s;" for p in started
        )
        (folder / "nginx.conf").write_text(
            NGINX_CONF.format(
                root=folder, servers=servers, port=port, static=NEWS / "news" / "static"
            )
        )
        nginx_output = stack.enter_context(tempfile.TemporaryFile())
        proxy = _popen(
            [nginx, "-c", str(folder / "nginx.conf"), "-p", str(folder)], folder, env, nginx_output
        )
        stack.callback(_stop, proxy)
        _wait_for_port(port, proxy, nginx_output, 20, "nginx")
        site = Deployment(
            url=f"http://127.0.0.1:{port}",
            processes=started,
            database=pair,
            tokens=made["tokens"],
            usernames=made["usernames"],
            articles=made["articles"],
            root=folder,
            bin_dir=bin_dir,
        )
        try:
            yield site
        finally:
            for n, process in enumerate(started):
                site.log[f"kettle {n}"] = _read(process.output)[-6000:]
            site.log["nginx"] = _read(nginx_output) + _tail(folder / "error.log")


def _site_env(pair: PrimaryAndReplica, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env.pop("DATABASE_URL", None)
    tests = str(REPO_ROOT / "tests")
    env["PYTHONPATH"] = os.pathsep.join([str(NEWS), tests, env.get("PYTHONPATH", "")])
    return env | {
        "KETTLE_ENV": "production",
        "KETTLE_SECRET_KEY": SECRET_KEY,
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "KETTLE_TRUSTED_PROXIES": "127.0.0.1",
        "KETTLE_DATABASE_URL": pair.primary_url,
        "KETTLE_DATABASE_REPLICA_URLS": pair.replica_url,
        "KETTLE_CACHE_URL": REDIS_URL,
        "KETTLE_NEWS_REDIS_URL": REDIS_URL,
        "KETTLE_NEWS_CACHE_PREFIX": "deploytest",
        "KETTLE_NEWS_RANK_CACHE_SECONDS": "0",
        "KETTLE_NEWS_PAGE_CACHE_SECONDS": "0",
        "KETTLE_NEWS_VOTE_RATE": "100000/minute",
        "KETTLE_LOG_FORMAT": "text",
        # Two workers x (15 blocking + 10 async connections) fit the primary's max_connections
        # (60, pgreplica.py) as docs/deployment.md advises; the default 50 each would not.
        "KETTLE_DB_POOL_SIZE": "15",
        # NOTE: the test talks plain HTTP to nginx; a real site has TLS in front (the
        # guide's nginx.conf), where the session cookie stays Secure.
        "KETTLE_SESSION_COOKIE_SECURE": "false",
        **settings,
    }


def _forget_site_keys() -> None:
    """Rate-limit counters and cached pages of an earlier run would skew this one."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for pattern in ("news:throttle:*", "deploytest:*"):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=NEWS, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _tail(path: Path) -> str:
    try:
        return path.read_text()[-4000:]
    except OSError:
        return ""


__all__ = ["Deployment", "deployment", "nginx_binary"]
