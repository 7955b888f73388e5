"""``kettle createsuperuser`` and ``kettle changepassword``, in process and as a command."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from authsite import PASSWORD
from click.testing import CliRunner

from kettle.auth import User
from kettle.cli import main
from kettle.db import Database

APP = """\
from kettle import App
from kettle.auth import Argon2Hasher, Auth, AuthOptions
from kettle.db import Database

app = App()
db = Database(app, url={url!r})
auth = Auth(app, options=AuthOptions(hasher=Argon2Hasher(memory_cost=256, time_cost=1)))
"""


class Project:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder / 'site.sqlite3'}"
        self.module = f"authcli_{uuid.uuid4().hex[:8]}"
        self.app_file = folder / f"{self.module}.py"
        self.app_file.write_text(APP.format(url=self.url), encoding="utf-8")
        self.db = Database(url=self.url)
        self.db.create_all()

    def invoke(self, *args: str, input: str | None = None) -> object:
        return CliRunner().invoke(main, [*args, "--app", str(self.app_file)], input=input)

    def user(self, username: str) -> User | None:
        with self.db.session():
            found: User | None = User.objects.filter(username=username).first()
            return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.delenv("KETTLE_SUPERUSER_PASSWORD", raising=False)
    made = Project(tmp_path)
    yield made
    sys.modules.pop(made.module, None)
    made.db.dispose()


def answers(monkeypatch: pytest.MonkeyPatch, *passwords: str) -> None:
    queue = list(passwords)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": queue.pop(0))


def test_createsuperuser_from_stdin(project: Project) -> None:
    result = project.invoke(
        "createsuperuser",
        "--username",
        "root",
        "--email",
        "root@example.org",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Superuser 'root' created." in result.output  # type: ignore[attr-defined]
    root = project.user("root")
    assert root is not None
    assert root.is_superuser
    assert root.is_staff
    assert root.is_active
    assert root.email == "root@example.org"
    assert root.password.startswith("$argon2id$")
    assert root.check_password(PASSWORD)


def test_createsuperuser_from_the_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETTLE_SUPERUSER_PASSWORD", PASSWORD)
    result = project.invoke("createsuperuser", "--username", "root", "--no-input")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    root = project.user("root")
    assert root is not None
    assert root.check_password(PASSWORD)
    assert root.email == ""


def test_createsuperuser_refuses_weak_passwords_and_taken_names(project: Project) -> None:
    weak = project.invoke(
        "createsuperuser", "--username", "root", "--password-stdin", input="12345\n"
    )
    assert weak.exit_code == 1  # type: ignore[attr-defined]
    assert "too short" in weak.output
    assert "entirely numeric" in weak.output
    assert project.user("root") is None
    project.invoke("createsuperuser", "--username", "root", "--password-stdin", input=PASSWORD)
    taken = project.invoke(
        "createsuperuser", "--username", "ROOT", "--password-stdin", input=PASSWORD
    )
    assert taken.exit_code == 1
    assert "is taken" in taken.output


def test_createsuperuser_without_input_needs_everything(project: Project) -> None:
    result = project.invoke("createsuperuser", "--no-input")
    assert result.exit_code == 2
    assert "--username is required" in result.output
    result = project.invoke("createsuperuser", "--username", "root", "--no-input")
    assert result.exit_code == 2
    assert "KETTLE_SUPERUSER_PASSWORD" in result.output


def test_createsuperuser_asks_interactively(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mismatch, then a weak password, then a good one typed twice.
    answers(monkeypatch, PASSWORD, "typo", "password", "password", PASSWORD, PASSWORD)
    result = project.invoke("createsuperuser", input="root\nroot@example.org\n")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "The two passwords differ" in result.output  # type: ignore[attr-defined]
    assert "This password is too common." in result.output  # type: ignore[attr-defined]
    root = project.user("root")
    assert root is not None
    assert root.check_password(PASSWORD)


def test_changepassword(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.invoke("createsuperuser", "--username", "root", "--password-stdin", input=PASSWORD)
    answers(monkeypatch, "kettles-whistle-at-dawn", "kettles-whistle-at-dawn")
    result = project.invoke("changepassword", "root")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    root = project.user("root")
    assert root is not None
    assert root.check_password("kettles-whistle-at-dawn")
    weak = project.invoke("changepassword", "root", "--password-stdin", input="root12345\n")
    assert weak.exit_code == 1  # type: ignore[attr-defined]
    missing = project.invoke("changepassword", "nobody", "--password-stdin", input=PASSWORD)
    assert missing.exit_code == 1
    assert "No user is named" in missing.output


def test_an_app_without_auth_is_reported(tmp_path: Path) -> None:
    plain = tmp_path / "plainapp.py"
    plain.write_text("from kettle import App\napp = App()\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["createsuperuser", "--app", str(plain), "--no-input"])
    sys.modules.pop("plainapp", None)
    assert result.exit_code == 1
    assert "has no kettle.auth" in result.output


def test_missing_tables_are_reported(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.db.drop_all()
    result = project.invoke(
        "createsuperuser", "--username", "root", "--password-stdin", input=PASSWORD
    )
    sys.modules.pop(project.module, None)
    assert result.exit_code == 1
    assert "kettle db migrate" in result.output


def test_the_kettle_command_in_a_subprocess(project: Project) -> None:
    env = {**os.environ, "KETTLE_SUPERUSER_PASSWORD": PASSWORD, "KETTLE_ENV": "development"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kettle.cli",
            "createsuperuser",
            "--app",
            project.app_file.name,
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--no-input",
        ],
        cwd=project.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    root = project.user("root")
    assert root is not None
    assert root.is_superuser
    assert root.check_password(PASSWORD)
