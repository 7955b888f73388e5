"""The ``kettle`` command: run (on Granian and uvicorn, with reload), routes and shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kettle.cli import main
from servers import SERVERS, free_port, running_process

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KETTLE = [sys.executable, "-m", "kettle.cli"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "hello.py", tmp_path / "hello.py")
    return tmp_path


def dev_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    return env


def test_routes_lists_each_route(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["routes", "hello.py"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "GET" in result.output
    assert "hello.index" in result.output
    assert ["GET", "/", "index", "hello.index"] in [
        line.split() for line in result.output.splitlines()
    ]


LONG_ROUTES = """\
from kettle import App
app = App()

PATH = "/archive/<int:year>/<int:month>/<slug>/comments/<int:comment_id>/replies"

@app.get(PATH, name="archive_month_article_comment_replies")
def replies(year: int, month: int, slug: str, comment_id: int) -> str:
    return "replies"
"""
LONG_PATH = "/archive/<int:year>/<int:month>/<slug>/comments/<int:comment_id>/replies"
LONG_NAME = "archive_month_article_comment_replies"


def test_routes_never_cut_a_long_path_or_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Piped or captured (not a terminal): one plain line per route, whatever the width.
    (tmp_path / "long_routes.py").write_text(LONG_ROUTES)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["routes", "long_routes.py"], terminal_width=80)
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if LONG_NAME in line]
    assert line.split() == ["GET", LONG_PATH, LONG_NAME, "long_routes.replies"]
    assert "…" not in result.output


def test_routes_in_a_narrow_terminal_wrap_instead_of_cutting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "long_routes.py").write_text(LONG_ROUTES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORCE_COLOR", "")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(main, ["routes", "long_routes.py"], color=False)
    assert result.exit_code == 0, result.output
    assert "│" in result.output  # the table, since this is a terminal
    assert "…" not in result.output
    # Each cell's pieces, read down its column, give back the whole text.
    rows = [line.split("│")[1:-1] for line in result.output.splitlines() if "│" in line]
    columns = ["".join(cell.strip() for cell in column) for column in zip(*rows, strict=True)]
    assert any(LONG_PATH in column for column in columns), columns
    assert any(LONG_NAME in column for column in columns), columns


def test_a_missing_file_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["routes", "nope.py"])
    assert result.exit_code == 2
    assert "nope.py does not exist" in result.output


def test_no_target_and_no_app_py_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "kettle run hello.py" in result.output


@pytest.mark.server
@pytest.mark.parametrize("server", SERVERS)
def test_run_serves_the_hello_world(project: Path, server: str) -> None:
    port = free_port()
    command = [*KETTLE, "run", "hello.py", "--port", str(port), "--no-reload"]
    with running_process([*command, "--server", server], port, cwd=project, env=dev_env()) as url:
        response = httpx.get(url + "/")
    assert response.status_code == 200
    assert response.text == "Hello, World!"


@pytest.mark.server
def test_run_reloads_when_the_code_changes(project: Path) -> None:
    port = free_port()
    command = [*KETTLE, "run", "hello.py", "--port", str(port)]
    with running_process(command, port, cwd=project, env=dev_env()) as url:
        assert httpx.get(url + "/").text == "Hello, World!"
        source = project / "hello.py"
        source.write_text(source.read_text().replace("Hello, World!", "Hello, reload!"))
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline and text != "Hello, reload!":
            time.sleep(0.2)
            try:
                text = httpx.get(url + "/", timeout=2).text
            except httpx.HTTPError:
                continue
    assert text == "Hello, reload!"


def test_production_without_a_secret_key_stops_with_advice(project: Path) -> None:
    result = subprocess.run(
        [*KETTLE, "run", "hello.py", "--production", "--port", str(free_port())],
        cwd=project,
        env=dev_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "KETTLE_SECRET_KEY" in result.stderr
    assert "Listening" not in result.stdout + result.stderr


def test_shell_has_the_app_loaded(project: Path) -> None:
    result = subprocess.run(
        [*KETTLE, "shell", "hello.py"],
        cwd=project,
        env=dev_env(),
        input="print('route:', app.url_for('index'))\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "route: /" in result.stdout


@pytest.mark.server
def test_workers_run_in_production_mode(project: Path) -> None:
    port = free_port()
    env = {
        **dev_env(),
        "KETTLE_SECRET_KEY": "workers-test-secret-key-0123456789",
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [*KETTLE, "run", "hello.py", "--port", str(port), "--workers", "2"]
    with running_process(command, port, cwd=project, env=env) as url:
        responses = [httpx.get(url + "/") for _ in range(4)]
    assert {r.text for r in responses} == {"Hello, World!"}


def test_workers_imply_production_settings(project: Path) -> None:
    result = subprocess.run(
        [*KETTLE, "run", "hello.py", "--workers", "2", "--port", str(free_port())],
        cwd=project,
        env=dev_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "KETTLE_SECRET_KEY" in result.stderr


LOOP_APP = """\
import asyncio
from kettle import App
app = App()

@app.get("/loop")
async def loop():
    return type(asyncio.get_running_loop()).__module__
"""


@pytest.mark.server
@pytest.mark.parametrize("server", [None, "uvicorn"])
def test_production_runs_on_uvloop_the_fastest_loop_measured(
    tmp_path: Path, server: str | None
) -> None:
    # docs/benchmarks.md, "Which server `kettle run --production` uses": Granian on uvloop
    # by default (Granian's own default would be asyncio here, or rloop once installed);
    # --server uvicorn still overrides it, and uvicorn picks uvloop by itself.
    (tmp_path / "loopapp.py").write_text(LOOP_APP)
    port = free_port()
    env = {
        **dev_env(),
        "KETTLE_SECRET_KEY": "loop-test-secret-key-0123456789abcdef",
        "KETTLE_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [*KETTLE, "run", "loopapp.py", "--production", "--port", str(port)]
    command += ["--server", server] if server else []
    with running_process(command, port, cwd=tmp_path, env=env) as url:
        response = httpx.get(url + "/loop")
    assert response.status_code == 200
    assert response.text == "uvloop"


def test_the_banner_names_the_server_and_its_loop(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kettle.cli

    served: list[tuple[str, int]] = []
    monkeypatch.setattr(kettle.cli, "_run_granian", lambda *args: served.append(args[2:4]))
    monkeypatch.chdir(project)
    monkeypatch.setenv("KETTLE_ENV", "development")  # restored after `run` sets it
    monkeypatch.setenv("KETTLE_SECRET_KEY", "banner-test-secret-key-0123456789abcdef")
    monkeypatch.setenv("KETTLE_ALLOWED_HOSTS", "127.0.0.1")
    result = CliRunner().invoke(main, ["run", "hello.py", "--production", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "(production, granian on uvloop, 1 worker)" in result.output
    assert served == [("127.0.0.1", 8123)]
