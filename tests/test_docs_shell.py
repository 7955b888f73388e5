"""Every shell command in the guides and the README runs in a test, or is excluded here
with the reason (issue #12: `kettle db makemigrations "..."` in docs/admin.md failed).

The ```sh, ```console, ```bash and ```shell blocks of docs/*.md and README.md are read
line by line (``\\`` continues a line, ``#`` starts a comment, ``$ `` prompts go). Each
command must be claimed by its page's runner below (which runs it in a temporary project
holding the files the guide built up to there) or by ``NOT_RUN`` with the reason, so a new
block is either run or consciously excluded.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servers import free_port, running_process
from test_docs import parse

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
SHELLS = {"sh", "console", "bash", "shell"}
KETTLE = [sys.executable, "-m", "kettle.cli"]
SERVES = "serves until stopped (Ctrl+C); tests/test_cli.py runs `kettle run` on both servers"
WORKS = "runs until stopped; tests/tasks/test_worker_processes.py runs real `kettle worker`s"

#: Commands not run here, by page: a command starting with the key is excluded for the reason.
NOT_RUN: dict[str, dict[str, str]] = {
    "README.md": {
        "make demo": "builds .venv and serves the demo until stopped; tests/examples/news/"
        "test_demo.py runs `python -m news demo`, which is what it runs",
        "make test": "is the whole suite (this test included)",
    },
    "quickstart.md": {
        "python -m venv .venv": "tests/test_install.py follows the install steps",
        ". .venv/bin/activate": "tests/test_install.py follows the install steps",
        "pip install": "tests/test_install.py follows the install steps",
        "kettle run hello.py": SERVES,
        "make demo": "serves until stopped; tests/test_new.py runs the new project's make",
        "make test": "tests/test_new.py runs the new project's tests",
    },
    "cli.md": {
        "kettle run": SERVES,
        "cd blog && make demo": "serves until stopped; tests/test_new.py runs the project",
        "kettle worker": WORKS,
    },
    "tasks.md": {
        "kettle worker": WORKS,
        "kettle tasks": "needs an app with queued tasks; tests/tasks/test_tasks_cli.py runs "
        "every subcommand against Redis",
    },
    "benchmarks.md": {
        "python3 bench/": "takes minutes to an hour; tests/bench runs the benchmarks' smoke mode",
    },
    "i18n.md": {
        "kettle i18n": "tests/i18n/test_i18n_cli.py runs extract, init, update and compile on "
        "a project; tests/i18n/test_i18n_catalogues.py re-extracts Kettle's own messages",
    },
    "production.md": {
        "kettle run": SERVES + "; tests/production/test_graceful_shutdown.py runs --grace",
    },
    "deployment.md": {
        "systemctl": "needs systemd and root; tests/production/test_nginx_deployment.py "
        "restarts processes one at a time the same way",
        "until curl": "waits for a server that systemctl started (above)",
        "make image": "needs Docker; tests/test_new_deployment.py checks the Dockerfile",
        "printf": "writes the secrets that docker compose reads (needs Docker)",
        "docker compose": "needs Docker; tests/test_new_deployment.py checks compose.yaml",
    },
}


@dataclass(frozen=True)
class Command:
    line: int
    text: str


def commands(path: Path) -> list[Command]:
    """The shell commands of a page, in order."""
    found = []
    for block in parse(path.read_text(encoding="utf-8")):
        if block.info.split()[:1] and block.info.split()[0] in SHELLS:
            pending, start = "", 0
            for offset, raw in enumerate(block.code.splitlines()):
                line = raw.strip()
                if not pending:
                    start = block.line + offset
                if line.startswith("$ "):
                    line = line[2:]
                if not line or (line.startswith("#") and not pending):
                    continue
                if line.endswith("\\"):
                    pending += line[:-1] + " "
                    continue
                text = _without_comment(pending + line)
                pending = ""
                found.append(Command(start, text))
    return found


def _without_comment(line: str) -> str:
    # The comment starts at the first '#' outside quotes, after a blank.
    end = len(line)
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            end = i
            break
    return line[:end].strip()


# --- running a page's commands ----------------------------------------------------------------
class Project:
    """A temporary folder to run commands in, with Kettle's test environment."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
        self.env.pop("DATABASE_URL", None)
        self.env.update({"KETTLE_ENV": "development", "HOME": str(path), "NO_COLOR": "1"})

    def sh(
        self, command: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` as the reader types it (``kettle`` is this checkout's)."""
        # NOTE: `kettle` here is this interpreter's: the one being tested.
        bin_dir = Path(sys.executable).parent
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.path,
            env={**self.env, "PATH": f"{bin_dir}:{self.env['PATH']}", **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # no terminal: getpass reads the answers from stdin
        )
        assert done.returncode == 0, f"`{command}` failed:\n{done.stdout}\n{done.stderr}"
        return done


def python_blocks(page: str, before_line: int) -> list[str]:
    """The ```python blocks of a page that come before ``before_line``."""
    blocks = parse((ROOT / "docs" / page).read_text(encoding="utf-8"))
    return [b.code for b in blocks if b.runs and b.line < before_line]


def run_admin(project: Project, found: list[Command]) -> set[str]:
    # The project so far: the guide's first block, the weather example with the admin.
    [app, *_] = python_blocks("admin.md", found[0].line)
    (project.path / "app.py").write_text(app)
    ran = set()
    for command in found:
        answers = "root@example.org\nkettles whistle at 100 C\nkettles whistle at 100 C\n"
        project.sh(command.text, stdin=answers if "createsuperuser" in command.text else "")
        ran.add(command.text)
    assert len(list((project.path / "migrations" / "versions").glob("*cities_and_the_admin.py")))
    return ran


AUTH_APP = """\
from kettle import App
from kettle.auth import Auth
from kettle.db import Database

app = App()
db = Database(app)
auth = Auth(app)
"""


def run_auth(project: Project, found: list[Command]) -> set[str]:
    (project.path / "app.py").write_text(AUTH_APP)
    project.sh("kettle db makemigrations auth && kettle db migrate")
    password = "tea at altitude, 1865"
    (project.path / "secret").write_text(password + "\n")
    ran = set()
    for command in found:
        text = command.text.replace("KETTLE_SUPERUSER_PASSWORD=...", "").strip()
        if text.startswith("kettle createsuperuser --username ann"):
            # Each way of making ann, on a database without her.
            project.sh("rm -f db.sqlite3 && kettle db migrate")
            env = {"KETTLE_SUPERUSER_PASSWORD": password} if "--no-input" in text else {}
            assert "ann" in project.sh(text, env=env).stdout
        elif text == "kettle createsuperuser":
            project.sh(text, stdin=f"bea\nbea@example.org\n{password}\n{password}\n")
        elif text == "kettle changepassword ann":
            project.sh(text, stdin="a new kettle, 2024\na new kettle, 2024\n")
        elif text == "kettle clearsessions":
            assert "expired session" in project.sh(text).stdout
        else:
            continue
        ran.add(command.text)
    return ran


def run_cli(project: Project, found: list[Command]) -> set[str]:
    ran = set()
    for command in found:
        if command.text.startswith("kettle new"):
            project.sh(command.text)
            ran.add(command.text)
    assert (project.path / "blog" / "blog" / "app.py").is_file()
    assert (project.path / "hello" / "app.py").is_file()
    assert (project.path / "src" / "blog" / "blog" / "app.py").is_file()
    return ran


def run_quickstart(project: Project, found: list[Command]) -> set[str]:
    ran = set()
    for command in found:
        if command.text == "kettle new blog":
            project.sh(command.text)
            ran.add(command.text)
        elif command.text == "cd blog":
            project.sh(f"{command.text} && test -f Makefile")
            ran.add(command.text)
    return ran


def run_fixtures(project: Project, found: list[Command]) -> set[str]:
    # The guide's app.py with a team and a player, then each command in the page's order.
    blocks = parse((ROOT / "docs" / "fixtures.md").read_text(encoding="utf-8"))
    app = next(b.code for b in blocks if b.file == "app.py")
    (project.path / "app.py").write_text(app)
    project.sh("kettle db makemigrations first && kettle db migrate")
    seed = "from app import *\nwith db.session(): Team.objects.create(name='Kettles')"
    project.sh(f'python -c "{seed}"')
    (project.path / "more.json").write_text('[{"model": "team", "fields": {"name": "Teapots"}}]')
    ran = set()
    for command in found:
        project.sh(command.text)
        ran.add(command.text)
    everything = json.loads((project.path / "everything.json").read_text())
    assert {"model": "team", "fields": {"name": "Kettles"}} in everything
    teams = (project.path / "teams.json").read_text()
    assert teams.startswith('[\n  {"model": "team"') or teams.startswith("[\n  {\n")
    done = project.sh("kettle db dump team")
    assert "Teapots" in done.stdout
    return ran


def run_configuration(project: Project, found: list[Command]) -> set[str]:
    # The exports, then the production settings they make must load.
    script = "\n".join(c.text for c in found)
    load = "from kettle import Settings; print(Settings.load(env_file=None).env)"
    check = f"python -c '{load}'"
    done = project.sh(f"{script}\n{check}")
    assert done.stdout.split() == ["production"]
    return {c.text for c in found}


def run_api(project: Project, found: list[Command]) -> set[str]:
    # The guide's first example (the typed weather API) as app.py, then each command.
    [app, *_] = python_blocks("api.md", found[0].line)
    (project.path / "app.py").write_text(app)
    ran = set()
    for command in found:
        done = project.sh(command.text)
        ran.add(command.text)
        if "-o" not in command.text:
            assert json.loads(done.stdout)["paths"]["/weather/{city}"]["get"]["summary"]
    document = json.loads((project.path / "openapi.json").read_text())
    assert document["openapi"] == "3.1.0"
    assert "openapi: 3.1.0" in (project.path / "openapi.yaml").read_text()
    return ran


def run_readme(project: Project, found: list[Command]) -> set[str]:
    ran = set()
    serve = next(c for c in found if c.text.startswith("kettle run"))
    port = free_port()
    command = [*KETTLE, *shlex.split(serve.text)[1:], "--port", str(port), "--no-reload"]
    with running_process(command, port, cwd=ROOT, env=project.env):
        ran.add(serve.text)
        for curl in (c for c in found if c.text.startswith("curl")):
            url = curl.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            done = project.sh(url)
            expected = _expected_after(ROOT / "README.md", curl)
            assert httpx.Response(200, content=done.stdout).json() == expected
            ran.add(curl.text)
    return ran


def _expected_after(path: Path, command: Command) -> object:
    """The JSON shown as a comment on the line after ``command``."""
    line = path.read_text(encoding="utf-8").splitlines()[command.line]
    return json.loads(re.sub(r"^#\s*", "", line.strip()))


RUNNERS: dict[str, Callable[[Project, list[Command]], set[str]]] = {
    "admin.md": run_admin,
    "api.md": run_api,
    "auth.md": run_auth,
    "cli.md": run_cli,
    "quickstart.md": run_quickstart,
    "configuration.md": run_configuration,
    "fixtures.md": run_fixtures,
    "README.md": run_readme,
}


def excluded(page: str, command: Command) -> bool:
    return any(command.text.startswith(prefix) for prefix in NOT_RUN.get(page, {}))


@pytest.mark.parametrize("path", [p for p in PAGES if commands(p)], ids=lambda p: p.name)
def test_every_shell_command_runs_or_is_excluded(path: Path, tmp_path: Path) -> None:
    found = commands(path)
    wanted = [c for c in found if not excluded(path.name, c)]
    runner = RUNNERS.get(path.name)
    ran = runner(Project(tmp_path / "project"), found) if runner is not None and wanted else set()
    missed = [f"line {c.line}: {c.text}" for c in wanted if c.text not in ran]
    assert not missed, (
        f"{path.name} shows shell commands no test runs; run them in its runner in "
        "tests/test_docs_shell.py, or add them to NOT_RUN with the reason:\n" + "\n".join(missed)
    )


def test_every_exclusion_still_matches_a_command() -> None:
    stale = [
        f"{page}: {prefix}"
        for page, prefixes in NOT_RUN.items()
        for prefix in prefixes
        if not any(c.text.startswith(prefix) for p in PAGES if p.name == page for c in commands(p))
    ]
    assert not stale, "NOT_RUN lists commands no page shows any more: " + ", ".join(stale)
