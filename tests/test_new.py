"""``kettle new``: the projects it makes pass their own tests, lint and migrate; bad names
and occupied folders are refused."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from htmlforms import csrf_from
from kettle import _newproject
from kettle._newproject import KettleSource
from kettle.cli import main
from servers import free_port, running_process

FULL_FILES = [
    ".dockerignore",
    ".gitignore",
    "Dockerfile",
    "Makefile",
    "README.md",
    "compose.yaml",
    "deploy/blog.service",
    "deploy/nginx.conf",
    "pyproject.toml",
    "blog/__init__.py",
    "blog/app.py",
    "blog/models.py",
    "blog/routes.py",
    "blog/settings.py",
    "blog/static/style.css",
    "blog/templates/base.html",
    "blog/templates/index.html",
    "blog/templates/new_note.html",
    "migrations/README.md",
    "tests/conftest.py",
    "tests/test_app.py",
]
MICRO_FILES = [".gitignore", "Makefile", "README.md", "app.py", "test_app.py"]


def new(parent: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["new", *args, "--directory", str(parent)])


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` as a terminal would, with no KETTLE_* or DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("full")
    result = new(parent, "blog")
    assert result.exit_code == 0, result.output
    assert "Its first migration: migrations/versions/" in result.output
    return parent / "blog"


@pytest.fixture(scope="module")
def micro(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("micro")
    result = new(parent, "hello", "--micro")
    assert result.exit_code == 0, result.output
    return parent / "hello"


# --- the full project ----------------------------------------------------------------------
def test_full_project_has_its_files(full: Path) -> None:
    [revision] = (full / "migrations" / "versions").glob("*.py")
    assert revision.name.endswith("_initial.py")
    assert "op.create_table('note'" in revision.read_text()
    assert files(full) == sorted([*FULL_FILES, revision.relative_to(full).as_posix()])
    for path in full.rglob("*"):
        if path.is_file():
            assert "{{ name }}" not in path.read_text(), path
    assert "class BlogSettings(Settings):" in (full / "blog/settings.py").read_text()
    assert "from blog.routes import site" in (full / "blog/app.py").read_text()
    # Jinja templates of the project are copied, not rendered.
    assert "{% block content %}" in (full / "blog/templates/base.html").read_text()
    ignored = (full / ".gitignore").read_text().split()
    assert {".venv/", "*.sqlite3", ".env", "__pycache__/", ".pytest_cache/"} <= set(ignored)


def test_full_project_records_where_kettle_comes_from(full: Path) -> None:
    source = _newproject.kettle_source()
    assert f"KETTLE ?= {source.install}\n" in (full / "Makefile").read_text()
    assert source.install in (full / "README.md").read_text()
    assert f'"kettle[db,metrics]>={source.version}"' in (full / "pyproject.toml").read_text()


def test_full_project_tests_pass(full: Path) -> None:
    done = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=full)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed" in done.stdout
    tests = (full / "tests" / "test_app.py").read_text()
    # Kettle's test helpers, not hand-made ones: the form is posted with no token
    # scraped from the page, its errors read from the context; the database is `db`'s.
    assert '"csrf_token":' not in tests
    assert 'response.context["errors"]' in tests
    assert "def db(" not in (full / "tests" / "conftest.py").read_text()


def test_full_project_migrates_and_lists_its_routes(full: Path) -> None:
    kettle = (sys.executable, "-m", "kettle.cli")
    done = run(*kettle, "db", "migrate", "--app", "blog/app.py", cwd=full)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Applied 1 revision(s)" in done.stdout
    assert (full / "db.sqlite3").is_file()  # in the project folder, as .gitignore expects
    done = run(*kettle, "db", "check", "--app", "blog/app.py", cwd=full)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(*kettle, "routes", "blog/app.py", cwd=full)
    assert done.returncode == 0, done.stderr
    for text in ("/api/notes", "/notes/new", "site.new_note", "blog.routes.index"):
        assert text in done.stdout


@pytest.mark.server
def test_full_project_runs(full: Path) -> None:
    """`kettle run` serves it (its workers import the models afresh), in development: the
    templates must render with Jinja's StrictUndefined, and the form's session and CSRF
    token must work over real HTTP."""
    kettle = (sys.executable, "-m", "kettle.cli")
    assert run(*kettle, "db", "migrate", "--app", "blog/app.py", cwd=full).returncode == 0
    port = free_port()
    command = [*kettle, "run", "blog/app.py", "--port", str(port), "--no-reload"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    with (
        running_process(command, port, cwd=full, env=env) as url,
        httpx.Client(base_url=url, timeout=10) as browser,
    ):
        assert browser.get("/api/notes").json() == {"notes": []}
        assert "No notes yet" in browser.get("/").text
        token = csrf_from(browser.get("/notes/new").text)
        saved = browser.post("/notes/new", data={"text": "Served for real", "csrf_token": token})
        assert (saved.status_code, saved.headers["location"]) == (303, "/")
        assert "Your note is saved." in browser.get("/").text
        assert browser.post("/notes/new", data={"text": "Forged"}).status_code == 403
        assert [n["text"] for n in browser.get("/api/notes").json()["notes"]] == ["Served for real"]


def test_full_project_passes_ruff(full: Path) -> None:
    done = run(sys.executable, "-m", "ruff", "check", ".", cwd=full)  # its own settings
    assert done.returncode == 0, done.stdout
    done = run(sys.executable, "-m", "ruff", "format", "--check", ".", cwd=full)
    assert done.returncode == 0, done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_full_project_makefile(full: Path) -> None:
    done = run("make", "-n", "demo", "test", "KETTLE=/src/kettle", cwd=full)
    assert done.returncode == 0, done.stderr
    assert 'pip install --quiet "/src/kettle"' in done.stdout
    assert 'pip install --quiet -e ".[test]"' in done.stdout
    assert ".venv/bin/kettle db migrate --app blog/app.py" in done.stdout
    assert ".venv/bin/kettle run blog/app.py" in done.stdout
    assert ".venv/bin/python -m pytest" in done.stdout


# --- the micro project ---------------------------------------------------------------------
def test_micro_project_has_its_files(micro: Path) -> None:
    assert files(micro) == sorted(MICRO_FILES)
    assert '@app.get("/api/hello/<name>")' in (micro / "app.py").read_text()
    assert "make test" in (micro / "README.md").read_text()


def test_micro_project_tests_pass_and_lint(micro: Path) -> None:
    done = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=micro)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    rules = "E,F,W,I,B,UP,SIM,RUF,C4"
    ruff = (sys.executable, "-m", "ruff")
    done = run(*ruff, "check", "--isolated", "--select", rules, ".", cwd=micro)
    assert done.returncode == 0, done.stdout
    done = run(*ruff, "format", "--isolated", "--check", ".", cwd=micro)
    assert done.returncode == 0, done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_micro_project_makefile(micro: Path) -> None:
    done = run("make", "-n", "demo", "test", cwd=micro)
    assert done.returncode == 0, done.stderr
    install = _newproject.kettle_source().install
    assert f'pip install --quiet "{install}" "pytest>=8"' in done.stdout
    assert ".venv/bin/kettle run app.py" in done.stdout


# --- where Kettle comes from ---------------------------------------------------------------
class FakeDistribution:
    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.version = "0.1.0"
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


@pytest.mark.parametrize(
    ("direct_url", "from_folder"),
    [
        ({"url": "file://{folder}", "dir_info": {"editable": True}}, True),
        ({"url": "file://{folder}", "dir_info": {}}, True),
        ({"url": "file:///wheels/kettle-0.1.0-py3-none-any.whl", "archive_info": {}}, False),
        (None, False),  # from an index
    ],
)
def test_kettle_source(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct_url: dict[str, Any] | None,
    from_folder: bool,
) -> None:
    (tmp_path / "pyproject.toml").touch()
    if direct_url is not None:
        direct_url["url"] = direct_url["url"].format(folder=tmp_path)
    monkeypatch.setattr(importlib.metadata, "distribution", lambda _: FakeDistribution(direct_url))
    source = _newproject.kettle_source()
    assert source.path == (tmp_path if from_folder else None)
    assert source.install == (str(tmp_path) if from_folder else "kettle==0.1.0")


def test_kettle_from_an_index_is_pinned_and_no_db_extra_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_newproject, "kettle_source", lambda: KettleSource("0.1.0", None))
    monkeypatch.setattr(_newproject, "_has_db_extra", lambda: False)
    result = new(tmp_path, "shop")
    assert result.exit_code == 0, result.output
    assert "kettle[db] is not installed here, so there is no migration yet" in result.output
    assert not (tmp_path / "shop/migrations").exists()
    assert "KETTLE ?= kettle==0.1.0\n" in (tmp_path / "shop/Makefile").read_text()
    assert '"kettle[db,metrics]==0.1.0"' in (tmp_path / "shop/pyproject.toml").read_text()
    assert "installs\n`kettle==0.1.0`" in (tmp_path / "shop/README.md").read_text()


# --- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("My-Blog", "'My-Blog' is not a Python package name: use lowercase letters, digits"),
        ("9lives", "e.g. 'my_9lives'"),
        ("a/b", "(to create it in another folder, use --directory)"),
        ("class", "'class' is a Python keyword, so it cannot name a package; e.g. 'my_class'"),
        ("json", "'json' would shadow the standard library's json module"),
        ("kettle", "'kettle' would shadow Kettle itself"),
        ("tests", "'tests' would shadow a folder of the project"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    result = new(tmp_path, name)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "notes.txt").write_text("mine")
    result = new(tmp_path, "blog", "--micro")
    assert result.exit_code == 1
    assert f"{tmp_path / 'blog'} already exists and is not empty; choose another" in (
        " ".join(result.output.split())
    )
    assert files(tmp_path / "blog") == ["notes.txt"]


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "blog").mkdir()
    assert new(tmp_path, "blog", "--micro").exit_code == 0
    assert files(tmp_path / "blog") == sorted(MICRO_FILES)


def test_nothing_is_left_behind_when_the_migration_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(folder: Path, name: str) -> Path:
        raise click.ClickException("Could not generate the first migration")

    monkeypatch.setattr(_newproject, "initial_migration", fail)
    monkeypatch.setattr(_newproject, "_has_db_extra", lambda: True)
    result = new(tmp_path, "blog")
    assert result.exit_code == 1
    assert "Could not generate the first migration" in result.output
    assert list(tmp_path.iterdir()) == []
