"""Where a project's migrations live, and the Alembic configuration Kettle builds for them.

There is no ``alembic.ini``: Kettle configures Alembic in code. Revisions live in
``migrations/versions/`` next to the app's file; the env script and the revision template
come from Kettle (``kettle/db/migrations/template/``)::

    project = Project.for_database(db)      # <app root>/migrations
    project.versions                        # <app root>/migrations/versions
    config = project.alembic_config(RunOptions(command="migrate"))
"""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from alembic.config import Config

from kettle.db.migrations.errors import MigrationError
from kettle.db.migrations.renames import Renamer

if TYPE_CHECKING:
    from kettle.db.database import Database

#: Kettle's env script and revision template (Alembic's ``script_location``).
TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
#: Revision files sort by time in the folder: ``2026_11_21_0930_1a2b3c4d5e6f_add_article.py``.
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s"
_KEY = "kettle"


@dataclass
class RunOptions:
    """What one command asks of Kettle's env script and comparators.

    ``command`` is ``makemigrations``, ``check``, ``migrate``, ``downgrade``, ``sql`` or
    ``history``; ``renamer`` decides renames during autogenerate; ``data`` makes an empty
    revision from the data-migration template; ``progress`` shows a bar per revision.
    """

    #: The command being run: ``"makemigrations"``, ``"check"``, ``"migrate"``, ...
    command: str
    #: Decides which dropped-and-added tables and columns are renames during autogenerate.
    renamer: Renamer = field(default_factory=Renamer)
    #: Make an empty revision from the data-migration template (``kettle db
    #: makemigrations --data``) instead of comparing the models with the database.
    data: bool = False
    #: Show a progress bar for each revision applied or reverted; off for scripts and CI.
    progress: bool = True
    #: Called with each applied revision (``"1a2b3c4d5e6f add article"``).
    on_applied: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Project:
    """A database plus the folder its migrations live in."""

    database: Database
    folder: Path

    @classmethod
    def for_database(cls, database: Database, folder: str | Path | None = None) -> Project:
        """``folder``, else ``migrations/`` next to the app's file (or the current folder)."""
        database.discover()  # every group's models, including groups added after Database()
        if folder is None:
            root = database.app.root if database.app is not None else Path.cwd()
            folder = Path(root) / "migrations"
        return cls(database, Path(folder).resolve())

    @property
    def versions(self) -> Path:
        """The folder of revision files."""
        return self.folder / "versions"

    def has_revisions(self) -> bool:
        """Whether any revision file exists yet."""
        return self.versions.is_dir() and any(self.versions.glob("*.py"))

    def create_folders(self) -> bool:
        """Create ``migrations/versions/`` if missing; returns True if it was created."""
        if self.versions.is_dir():
            return False
        self.versions.mkdir(parents=True)
        (self.folder / "README.md").write_text(_README, encoding="utf-8")
        return True

    def alembic_config(self, options: RunOptions, stdout: TextIO | None = None) -> Config:
        """An Alembic ``Config`` for this project, carrying ``options`` for the env script."""
        out = stdout if stdout is not None else sys.stdout
        # Kettle reports what happened itself; Alembic's own messages stay quiet.
        config = Config(stdout=out, output_buffer=out, cmd_opts=Namespace(quiet=True))
        # NOTE: values go through ConfigParser interpolation, so a literal % is doubled.
        config.set_main_option("script_location", _escape(TEMPLATE_DIR))
        config.set_main_option("path_separator", "newline")
        config.set_main_option("version_locations", _escape(self.versions))
        config.set_main_option("file_template", FILE_TEMPLATE)
        # Run the env script for every revision, so --data revisions get the data template.
        config.set_main_option("revision_environment", "true")
        config.attributes[_KEY] = (self, options)
        return config


def from_config(config: Config) -> tuple[Project, RunOptions]:
    """The project and options a Kettle command put on ``config`` (for the env script)."""
    value: Any = config.attributes.get(_KEY)
    if value is None:
        raise MigrationError(
            "Kettle's migration environment runs from `kettle db` commands only; "
            "use `kettle db migrate` rather than the alembic command."
        )
    project, options = value
    return project, options


def _escape(path: Path) -> str:
    return str(path).replace("%", "%%")


_README = """\
# Migrations

Revisions of this project's database schema, made by `kettle db makemigrations` and
applied by `kettle db migrate`. Review each new file before committing it; `kettle db
history` lists them and `kettle db check` fails when the models have changes that no
revision covers yet.
"""

__all__ = ["FILE_TEMPLATE", "TEMPLATE_DIR", "Project", "RunOptions", "from_config"]
