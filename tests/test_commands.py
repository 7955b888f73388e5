"""Commands of one's own: ``@app.command()`` and ``@group.command()`` as ``kettle <name>``.

Each test writes a small project and runs ``kettle`` in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kettle import App, Group
from kettle.exceptions import ConfigurationError

KETTLE = [sys.executable, "-m", "kettle.cli"]

APP = '''
import asyncio

import click

from kettle import App, Group

app = App()
tools = Group("tools")


@app.on_startup
def started():
    app.state.started = "yes"


@app.command()
@click.option("--count", default=1, show_default=True, help="How many greetings.")
@click.argument("name")
def greet(name: str, count: int) -> None:
    """Greet NAME, COUNT times."""
    for _ in range(count):
        click.echo(f"hello {name} (started: {app.state.started})")


@app.command("wait-a-bit")
async def wait(seconds: float = 0.01) -> None:
    """Sleep, then say so (an async command)."""
    await asyncio.sleep(seconds)
    click.echo(f"waited in a loop (started: {app.state.started})")


@tools.command()
def fail() -> None:
    """Stop with a message the user can act on."""
    raise click.ClickException("nothing to do here")


app.include(tools)
'''


def kettle(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    return subprocess.run(
        [*KETTLE, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def test_help_lists_the_app_commands_under_their_own_heading(project: Path) -> None:
    result = kettle(project, "--help")
    assert result.returncode == 0, result.stderr
    builtin, _, own = result.stdout.partition("Commands of app.py:")
    assert "routes" in builtin
    assert "greet" not in builtin
    assert "greet" in own
    assert "Greet NAME, COUNT times." in own
    assert "wait-a-bit" in own
    assert "fail" in own


def test_a_command_runs_with_its_options_and_the_app_started(project: Path) -> None:
    result = kettle(project, "greet", "ann", "--count", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello ann (started: yes)"] * 2


def test_a_command_has_its_own_help(project: Path) -> None:
    result = kettle(project, "greet", "--help")
    assert result.returncode == 0, result.stderr
    assert "greet [OPTIONS] NAME" in result.stdout
    assert "How many greetings." in result.stdout


def test_an_async_command_runs_in_an_event_loop_after_start_up(project: Path) -> None:
    result = kettle(project, "wait-a-bit")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "waited in a loop (started: yes)"


def test_a_group_command_runs_and_its_errors_are_one_line(project: Path) -> None:
    result = kettle(project, "fail")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: nothing to do here"


def test_the_app_is_found_by_app_option_and_by_kettle_app(tmp_path: Path) -> None:
    (tmp_path / "newsroom.py").write_text(APP)
    by_option = kettle(tmp_path, "--app", "newsroom.py", "greet", "bo")
    assert by_option.returncode == 0, by_option.stderr
    assert "hello bo" in by_option.stdout
    by_variable = kettle(tmp_path, "greet", "cy", env={"KETTLE_APP": "newsroom.py"})
    assert by_variable.returncode == 0, by_variable.stderr
    assert "hello cy" in by_variable.stdout
    listed = kettle(tmp_path, "--app", "newsroom.py", "--help")
    assert "Commands of newsroom.py:" in listed.stdout


def test_an_unknown_command_says_where_it_looked(project: Path, tmp_path: Path) -> None:
    result = kettle(project, "gret")
    assert result.returncode == 2
    assert "No such command 'gret'" in result.stderr
    assert "greet" in result.stderr  # click's suggestion, from the app's commands too
    empty = tmp_path / "empty"
    empty.mkdir()
    nowhere = kettle(empty, "greet", "ann")
    assert nowhere.returncode == 2
    assert "no app.py here" in nowhere.stderr


def test_help_without_an_app_lists_the_built_in_commands(tmp_path: Path) -> None:
    result = kettle(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "routes" in result.stdout
    assert "Commands of" not in result.stdout


def test_help_reports_an_app_that_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import nowhere_to_be_found\n")
    result = kettle(tmp_path, "--help")
    assert result.returncode == 0
    assert "routes" in result.stdout
    assert "Could not load the app's commands" in result.stderr
    assert "nowhere_to_be_found" in result.stderr


def test_built_in_commands_do_not_import_the_app(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("raise SystemExit('imported!')\n")
    result = kettle(tmp_path, "new", "--help")
    assert result.returncode == 0, result.stderr
    assert "imported!" not in result.stdout + result.stderr


# --- registering (in process) ------------------------------------------------------------------
def test_a_name_taken_by_a_built_in_command_is_refused_at_once() -> None:
    app = App()

    with pytest.raises(ConfigurationError, match=r"`kettle run` is a built-in command"):

        @app.command("run")
        def run() -> None: ...

    with pytest.raises(ConfigurationError, match=r"@app.command\(\"other-name\"\)"):

        @app.command()
        def db() -> None: ...


def test_two_commands_of_one_name_are_refused_naming_both() -> None:
    app = App()
    tools = Group("tools")

    @app.command()
    def seed() -> None: ...

    @tools.command("seed")
    def seed_again() -> None: ...

    app.include(tools)
    from kettle.commands import app_commands

    with pytest.raises(ConfigurationError, match=r"'seed'.*app.*tools"):
        app_commands(app)
    with pytest.raises(ConfigurationError, match="already"):

        @app.command("seed")
        def other() -> None: ...


def test_the_decorator_returns_the_function_and_names_it_with_dashes() -> None:
    app = App()

    def load_demo_data() -> str:
        return "done"

    assert app.command()(load_demo_data) is load_demo_data
    assert load_demo_data() == "done"
    assert list(app.commands) == ["load-demo-data"]


def test_a_click_command_may_be_registered_as_it_is() -> None:
    app = App()

    @click.command("stats")
    def stats() -> None: ...

    assert app.command()(stats) is stats
    from kettle.commands import app_commands

    assert app_commands(app)["stats"].name == "stats"


def test_commands_after_start_up_are_refused() -> None:
    app = App()
    app.build()
    with pytest.raises(ConfigurationError, match="after the app started"):

        @app.command()
        def late() -> None: ...


def test_the_built_in_names_are_the_cli_s() -> None:
    from kettle.cli import main
    from kettle.commands import BUILTIN_COMMANDS

    assert {*main.commands, *main.lazy} == BUILTIN_COMMANDS
