"""A test client gives an app that loaded its own settings the testing environment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kettle import App, Settings
from kettle.testing import TestClient

HELLO = """\
from kettle import App

app = App()

@app.get("/")
def index():
    return "Hello, World!"
"""


def run_python(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in ``folder``, as in a plain session: no pytest, no KETTLE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_quickstart_snippet_runs_outside_pytest(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    done = run_python(
        tmp_path,
        """
        from hello import app
        from kettle.testing import TestClient
        response = TestClient(app).get("/")
        print(response.status_code, response.text, app.settings.env)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "Hello,", "World!", "testing"]


def test_async_client_also_selects_testing_outside_pytest(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(HELLO)
    done = run_python(
        tmp_path,
        """
        import asyncio
        from hello import app
        from kettle.testing import AsyncTestClient

        async def main():
            async with AsyncTestClient(app) as client:
                return (await client.get("/")).status_code

        print(asyncio.run(main()), app.settings.env)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "testing"]


def test_settings_given_by_the_user_are_kept(tmp_path: Path) -> None:
    (tmp_path / "given.py").write_text(
        "from kettle import App, Settings\n"
        "app = App(settings=Settings.load())\n"
        "@app.get('/')\n"
        "def index():\n"
        "    return 'hi'\n"
    )
    done = run_python(
        tmp_path,
        """
        from given import app
        from kettle.testing import TestClient
        try:
            TestClient(app).get("/")
        except Exception as error:
            print(type(error).__name__, app.settings.env)
        """,
    )
    assert done.stdout.split() == ["ConfigurationError", "production"], done.stderr


def test_an_explicit_kettle_env_is_respected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KETTLE_ENV", "development")
    app = App(root=tmp_path)
    TestClient(app).close()
    assert app.settings.env == "development"


def test_other_settings_from_the_environment_stay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KETTLE_ENV")
    monkeypatch.setenv("KETTLE_MAX_BODY_SIZE", "1234")
    app = App(root=tmp_path)
    assert app.settings.env == "production"
    with TestClient(app) as client:
        assert client.get("/nothing").status_code == 404
    assert (app.settings.env, app.settings.max_body_size) == ("testing", 1234)


def test_a_started_app_is_left_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KETTLE_ENV")
    app = App(root=tmp_path, settings=None)
    app.settings = Settings.load(env="development", env_file=None)
    app.build()
    TestClient(app).close()
    assert app.settings.env == "development"
