"""``kettle db``: migrations from the command line.

::

    kettle db makemigrations "add article"        # autogenerate from the models
    kettle db migrate                             # up to the newest revision
    kettle db downgrade -1
    kettle db history
    kettle db sql > schema.sql                    # the SQL, without running it
    kettle db check                               # exit 1 when models and migrations differ
    kettle db squash                              # many revisions into one

The app is found as ``kettle run`` finds it: ``--app hello.py`` (or ``pkg.module:app``,
or ``KETTLE_APP``), else ``app.py`` here. Its ``Database`` gives the URL and the models.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.table import Table

from kettle._loading import load_app, parse_target
from kettle.db.database import Database
from kettle.db.migrations.commands import Migrations
from kettle.db.migrations.errors import MigrationError
from kettle.db.migrations.renames import Renamer, parse_hints
from kettle.exceptions import ConfigurationError

P = ParamSpec("P")
R = TypeVar("R")

_APP_HELP = "The app: a file like hello.py or pkg.module:app (default: app.py here)."


def _app_option(function: Callable[P, R]) -> Callable[P, R]:
    return click.option("-a", "--app", "target", envvar="KETTLE_APP", help=_APP_HELP)(function)


@click.group()
@_app_option
@click.pass_context
def db(ctx: click.Context, target: str | None) -> None:
    """Migrations (makemigrations, migrate, downgrade, ...) and fixtures (dump, load)."""
    ctx.obj = {"target": target}


def _command(function: Callable[..., None]) -> click.Command:
    """A ``kettle db`` subcommand: takes ``--app`` too, gets ``Migrations`` as first
    argument, and reports ``MigrationError`` (and a misconfigured app) as one clear line.
    A REVISION like ``-1`` is an argument, not an option."""

    @functools.wraps(function)
    @click.pass_context
    def run(ctx: click.Context, /, target: str | None, **kwargs: Any) -> None:
        try:
            function(_migrations(ctx, target), **kwargs)
        except (MigrationError, ConfigurationError) as error:
            raise click.ClickException(str(error)) from None

    takes_revision = "revision" in inspect.signature(function).parameters
    settings = {"ignore_unknown_options": takes_revision}
    return db.command(name=function.__name__, context_settings=settings)(_app_option(run))


def _migrations(ctx: click.Context, target: str | None) -> Migrations:
    os.environ.setdefault("KETTLE_ENV", "development")
    target = target or (ctx.obj or {}).get("target")
    resolved = parse_target(target)
    app = load_app(resolved)
    database = getattr(app.state, "db", None)
    if not isinstance(database, Database):
        raise MigrationError(
            f"The app {resolved.import_string} has no Database, so there is nothing to "
            'migrate: add `db = Database(app, models=["yourproject.models"])` where the app '
            "is created."
        )
    return Migrations(database)


def _warn(message: str) -> None:
    click.secho(f"Warning: {message}", fg="yellow", err=True)


@_command
@click.argument("words", nargs=-1, metavar="[MESSAGE]")
@click.option("-m", "--message", help="What the revision does (names its file).")
@click.option("--data", is_flag=True, help="An empty revision from the data-migration template.")
@click.option(
    "--rename",
    "renames",
    multiple=True,
    metavar="OLD=NEW",
    help="A rename to keep the data of: article=post (table), article.title=article.headline.",
)
@click.option(
    "--interactive/--no-interactive",
    default=None,
    help="Ask about likely renames (default: when run in a terminal).",
)
def makemigrations(
    migrations: Migrations,
    words: tuple[str, ...],
    message: str | None,
    data: bool,
    renames: tuple[str, ...],
    interactive: bool | None,
) -> None:
    """Write a revision for what changed in the models (creates migrations/ if needed).

    MESSAGE says what the revision does and names its file; `-m MESSAGE` is the same.

    \b
      kettle db makemigrations "add article"
      kettle db makemigrations --data -m "archive old drafts"
    """
    if words:
        if message is not None and message != " ".join(words):
            raise click.UsageError(
                f"Two messages given, -m {message!r} and {' '.join(words)!r}: give the "
                "message either as an argument or with -m, not both."
            )
        message = " ".join(words)
    if interactive is None:
        interactive = sys.stdin.isatty()
    renamer = Renamer(
        hints=parse_hints(renames),
        ask=(lambda question: click.confirm(question, default=False)) if interactive else None,
        warn=_warn,
    )
    path = migrations.makemigrations(message, renamer=renamer, data=data)
    if path is None:
        click.echo("No changes detected: the models match the database.")
        return
    for old, new in renamer.tables.items():
        click.echo(f"Renaming the table {old} to {new}")
    for (table, old), new in renamer.columns.items():
        click.echo(f"Renaming {table}.{old} to {new}")
    click.echo(f"Created {_relative(path)}")


@_command
@click.argument("revision", default="head")
def migrate(migrations: Migrations, revision: str) -> None:
    """Apply the migrations up to REVISION (default: head)."""
    applied = migrations.migrate(revision)
    where = ", ".join(migrations.current()) or "base"
    if applied:
        click.echo(f"Applied {len(applied)} revision(s); the database is at {where}.")
    else:
        click.echo(f"Nothing to apply; the database is at {where}.")


@_command
@click.argument("revision")
def downgrade(migrations: Migrations, revision: str) -> None:
    """Revert migrations down to REVISION (an id, -1 for one step, or base)."""
    reverted = migrations.downgrade(revision)
    where = ", ".join(migrations.current()) or "base"
    click.echo(f"Reverted {len(reverted)} revision(s); the database is at {where}.")


@_command
def history(migrations: Migrations) -> None:
    """List the revisions, newest first, marking the head and the database's current one."""
    revisions = migrations.history()
    if not revisions:
        click.echo("No migrations yet: create the first with `kettle db makemigrations`.")
        return
    table = Table(title=f"Migrations in {_relative(migrations.project.versions)}")
    for column in ("Revision", "Parent", "Message", ""):
        table.add_column(column)
    for revision in revisions:
        marks = [
            m for m, on in (("head", revision.is_head), ("current", revision.is_current)) if on
        ]
        table.add_row(
            revision.id, ", ".join(revision.parents) or "-", revision.message, ", ".join(marks)
        )
    Console(width=max(100, Console().width)).print(table)


@_command
@click.argument("revision", default="head")
@click.option("--start", help="Begin after this revision (default: an empty database).")
def sql(migrations: Migrations, revision: str, start: str | None) -> None:
    """Print the SQL of migrating to REVISION without running it (for review or a DBA)."""
    click.echo(migrations.sql(revision, start), nl=False)


@_command
def check(migrations: Migrations) -> None:
    """Exit 1 when the models have changes no migration covers (for CI, after migrate)."""
    drift = migrations.check()
    if not drift:
        click.echo("No changes: the models and the migrations agree.")
        return
    click.echo("The models differ from the migrations; run `kettle db makemigrations`:")
    for line in drift:
        click.echo(f"  - {line}")
    raise SystemExit(1)


@_command
@click.option("--start", help="The first revision to squash (default: the first of all).")
@click.option("--end", default="head", show_default=True, help="The last revision to squash.")
@click.option("-m", "--message", help="The squashed revision's message.")
def squash(migrations: Migrations, start: str | None, end: str, message: str | None) -> None:
    """Replace a run of revisions with one that does the same."""
    path = migrations.squash(start, end, message)
    click.echo(f"Created {_relative(path)}")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


__all__ = ["db"]
