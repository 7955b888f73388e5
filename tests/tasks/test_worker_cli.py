"""``kettle worker``'s errors: no Tasks, no table, bad options; and its status line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kettle.cli import main
from kettle.tasks._dbworker import Counts
from kettle.tasks.worker import status_line

NO_TASKS = """\
from kettle import App
app = App()
"""

NO_TABLE = """\
from kettle import App
from kettle.db import Database
from kettle.tasks import Tasks
app = App()
db = Database(app, url="sqlite:///{path}")
tasks = Tasks(app)
"""


def run(tmp_path: Path, source: str, *args: str) -> tuple[int, str]:
    # A module name of its own per test: the app is imported in this process.
    path = tmp_path / f"workerless_{abs(hash(tmp_path.name))}.py"
    path.write_text(source)
    result = CliRunner().invoke(main, ["worker", str(path), *args])
    return result.exit_code, result.output


def test_an_app_without_tasks_is_a_usage_error(tmp_path: Path) -> None:
    code, output = run(tmp_path, NO_TASKS)
    assert code == 2
    assert "The app has no tasks battery" in output
    assert "tasks = Tasks(app)" in output


def test_a_missing_table_says_how_to_create_it(tmp_path: Path) -> None:
    code, output = run(tmp_path, NO_TABLE.format(path=tmp_path / "empty.sqlite3"))
    assert code == 1
    assert "no table 'kettle_tasks'" in output
    assert "kettle db makemigrations" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--concurrency", "0"], "must be at least 1"), (["--queues", ","], "at least one queue")],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = run(tmp_path, NO_TASKS, *args)
    assert code == 2
    assert message in output


def test_the_status_line_counts_what_the_worker_did() -> None:
    class Loop:
        running = {"a": None, "b": None}
        counts = Counts(done=1204, failed=3, retried=5)

    assert status_line(Loop()) == ("2 running · 1,204 done · 3 failed · 5 retried · 0 reclaimed")
    assert status_line(object()) == "0 running"
