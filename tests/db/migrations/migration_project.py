"""A throwaway Kettle project for migration tests.

Models register in one global ``MetaData`` per process, so each state of the models gets a
fresh process: ``run()`` invokes several ``kettle db`` commands in one::

    project.models(MODELS_V1)
    made, applied = project.run(["makemigrations", "-m", "initial"], ["migrate"])
    assert applied.code == 0, applied.output
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kettle.db.database import split_url

APP = """\
from kettle import App
from kettle.db import Database

app = App()
db = Database(app, models=["models"])
"""

DRIVER = Path(__file__).with_name("migration_driver.py")


class Launcher:
    """A warmed-up driver process that forks a child per batch of commands (see
    ``migration_driver.py``); without ``os.fork`` each batch starts a new Python."""

    def __init__(self) -> None:
        self.server: subprocess.Popen[str] | None = None
        if hasattr(os, "fork"):
            self.server = subprocess.Popen(
                [sys.executable, str(DRIVER), "serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def run(self, request: dict[str, Any]) -> None:
        if self.server is None:
            subprocess.run(
                [sys.executable, str(DRIVER), "once", json.dumps(request)],
                check=True,
                timeout=60,
            )
            return
        assert self.server.stdin is not None
        assert self.server.stdout is not None
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        assert self.server.stdout.readline().strip() == "done"

    def close(self) -> None:
        if self.server is not None:
            assert self.server.stdin is not None
            self.server.stdin.close()
            self.server.wait(timeout=10)


@dataclass(frozen=True, repr=False)
class Result:
    """One ``kettle db`` command's exit code and output (stdout and stderr)."""

    code: int
    output: str
    error: str | None

    def __repr__(self) -> str:
        return f"exit {self.code}\n{self.output}\n{self.error or ''}"


class KettleProject:
    """``app.py`` with a ``Database`` and a ``models.py`` in ``path``, on ``url``."""

    def __init__(self, path: Path, url: str, launcher: Launcher) -> None:
        self.path = path
        self.url = url
        self.launcher = launcher
        path.mkdir(parents=True, exist_ok=True)
        (path / "app.py").write_text(APP)

    @property
    def versions(self) -> Path:
        return self.path / "migrations" / "versions"

    def revisions(self) -> list[Path]:
        """The revision files, oldest first."""
        files = self.versions.glob("*.py") if self.versions.is_dir() else []
        return sorted(files, key=lambda path: path.stat().st_mtime_ns)

    def models(self, source: str) -> None:
        """Replace models.py (the next ``run()`` sees the new models)."""
        (self.path / "models.py").write_text(textwrap.dedent(source))

    def run(self, *commands: list[str] | tuple[list[str], str | None]) -> list[Result]:
        """Run ``kettle db`` commands in one fresh process; a command is its arguments (a
        list), or ``(arguments, stdin)``."""
        runs: list[Any] = []
        for item in commands:
            if isinstance(item, tuple):
                runs.append([list(item[0]), item[1]])
            else:
                runs.append([list(item), None])
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
        env["DATABASE_URL"] = self.url
        out = self.path.parent / "results.json"
        out.unlink(missing_ok=True)
        self.launcher.run({"cwd": str(self.path), "env": env, "runs": runs, "out": str(out)})
        return [Result(**item) for item in json.loads(out.read_text())]

    def kettle(self, *args: str, stdin: str | None = None) -> Result:
        """One command in a fresh process."""
        return self.run((list(args), stdin))[0]

    # --- looking at the database from the test process ------------------------------------
    def engine(self) -> sa.Engine:
        return sa.create_engine(split_url(self.url)[0], poolclass=sa.pool.NullPool)

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        engine = self.engine()
        try:
            with engine.begin() as connection:
                result = connection.execute(sa.text(sql), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def schema(self) -> dict[str, list[str]]:
        """Table -> sorted column names (``alembic_version`` left out)."""
        engine = self.engine()
        try:
            inspector = sa.inspect(engine)
            return {
                table: sorted(c["name"] for c in inspector.get_columns(table))
                for table in sorted(inspector.get_table_names())
                if table != "alembic_version"
            }
        finally:
            engine.dispose()


def drop_everything(url: str) -> None:
    """Drop every table of the database at ``url``."""
    engine = sa.create_engine(split_url(url)[0], poolclass=sa.pool.NullPool)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()
