"""``kettle tasks list/show/retry/cancel/purge`` against the Redis backend (real Redis)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from kettle.tasks._message import TaskMessage
from kettle.tasks.dramatiq import DramatiqBackend

REDIS = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, DramatiqBackend]]:
    namespace = f"kc{uuid.uuid4().hex[:10]}"
    url = f"{REDIS}?namespace={namespace}"
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            f"""
            from kettle import App
            from kettle.tasks import Tasks

            app = App()
            tasks = Tasks(app, url={url!r})
            """
        )
    )
    yield tmp_path, DramatiqBackend(url)
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"{namespace}:*", count=1000):
        client.delete(key)


def kettle(folder: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kettle.cli", "tasks", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        input=input,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src"), "KETTLE_ENV": "testing"},
        timeout=60,
    )


def failed(backend: DramatiqBackend, name: str, error: str) -> TaskMessage:
    """A task that ran and failed, as a worker would have left it."""
    message = TaskMessage.new(name, [1], {})
    backend.send([message])
    backend.store.started(message)
    trace = f'Traceback (most recent call last):\n  File "app.py"\n{error}\n'
    backend.store.finished(message, "failed", error=error, traceback=trace)
    return message


def test_list_and_show(project: tuple[Path, DramatiqBackend]) -> None:
    folder, backend = project
    assert kettle(folder, "list").stdout.strip() == "No tasks."
    pending = TaskMessage.new("app.send_mail", ["ann@example.org"], {})
    backend.send([pending])
    broken = failed(backend, "app.resize", "OSError: disk full")
    listed = kettle(folder, "list")
    assert listed.returncode == 0, listed.stderr
    assert pending.id in listed.stdout
    assert broken.id in listed.stdout
    assert "OSError: disk full" in listed.stdout
    only_failed = kettle(folder, "list", "--state", "failed").stdout
    assert broken.id in only_failed
    assert pending.id not in only_failed
    shown = kettle(folder, "show", broken.id)
    assert "state: failed" in shown.stdout
    assert "Traceback (most recent call last):" in shown.stdout
    missing = kettle(folder, "show", "nope")
    assert missing.returncode == 1
    assert "No task 'nope'" in missing.stderr


def test_retry_cancel_and_purge(project: tuple[Path, DramatiqBackend]) -> None:
    folder, backend = project
    broken = failed(backend, "app.resize", "OSError: disk full")
    waiting = TaskMessage.new("app.send_mail", ["bob@example.org"], {})
    backend.send([waiting])

    cancelled = kettle(folder, "cancel", waiting.id, "unknown-id")
    assert cancelled.returncode == 1  # one of them could not be cancelled
    assert f"{waiting.id}: cancelled" in cancelled.stdout
    assert "unknown-id: unchanged" in cancelled.stderr
    assert backend.get(waiting.id).state == "cancelled"

    retried = kettle(folder, "retry", "--failed")
    assert retried.returncode == 0, retried.stderr
    assert f"{broken.id}: queued again" in retried.stdout
    assert backend.get(broken.id).state == "pending"
    assert kettle(folder, "retry").returncode == 2  # nothing named: a usage error

    assert kettle(folder, "purge", "cancelled").stdout.strip() == "Deleted 1 cancelled task."
    assert backend.get(waiting.id) is None
    refused = kettle(folder, "purge", "pending", input="n\n")
    assert refused.returncode == 1  # asked, and told no
    assert backend.get(broken.id).state == "pending"
    assert kettle(folder, "purge", "pending", "--yes").stdout.strip() == "Deleted 1 pending task."


def test_an_app_without_tasks_is_told_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from kettle import App\napp = App()\n")
    result = kettle(tmp_path, "list")
    assert result.returncode == 1
    assert "has no Tasks: add `tasks = Tasks(app)`" in result.stderr
