"""``kettle db``: the migrations' commands, and ``dump`` / ``load`` for fixtures.

::

    kettle db dump > everything.json                  # every model whose table exists
    kettle db dump auth_group auth_user -o users.json --indent
    kettle db load users.json articles.json           # one transaction for all files

Models are named by their table. The app is found as for the other ``kettle db``
commands: ``--app``, ``KETTLE_APP``, else ``app.py`` here (see kettle.db.fixtures for
the format).
"""

from __future__ import annotations

import json
import os
from typing import TextIO

import click

from kettle._loading import load_app, parse_target
from kettle.db.database import Database
from kettle.db.fixtures import FixtureError, dump, load_files
from kettle.db.migrations.cli import db
from kettle.exceptions import ConfigurationError

_APP_HELP = "The app: a file like hello.py or pkg.module:app (default: app.py here)."


def _database(ctx: click.Context, target: str | None) -> Database:
    os.environ.setdefault("KETTLE_ENV", "development")
    resolved = parse_target(target or (ctx.obj or {}).get("target"))
    app = load_app(resolved)
    database = getattr(app.state, "db", None)
    if not isinstance(database, Database):
        raise click.ClickException(
            f"The app {resolved.import_string} has no Database: add `db = Database(app, "
            'models=["yourproject.models"])` where the app is created.'
        )
    return database


@db.command("dump")
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("-a", "--app", "target", envvar="KETTLE_APP", help=_APP_HELP)
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="The file to write."
)
@click.option(
    "--indent",
    type=click.IntRange(min=0),
    is_flag=False,
    flag_value=2,
    default=None,
    help="Indent the JSON (2 spaces, or the number given); default: one line.",
)
@click.pass_context
def dump_command(
    ctx: click.Context,
    models: tuple[str, ...],
    target: str | None,
    output: TextIO,
    indent: int | None,
) -> None:
    """Write the rows of every MODEL (a table name; default: all) as JSON fixtures.

    A foreign key is the id of the row it points at, or its natural key where that model
    declares one (Meta.natural_key); a many-to-many link is a list of them.
    """
    try:
        data = dump(_database(ctx, target), models or None)
    except (FixtureError, ConfigurationError) as error:
        raise click.ClickException(str(error)) from None
    output.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


@db.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-a", "--app", "target", envvar="KETTLE_APP", help=_APP_HELP)
@click.pass_context
def load_command(ctx: click.Context, files: tuple[str, ...], target: str | None) -> None:
    """Load the JSON fixtures in FILES, all in one transaction.

    A row whose natural key (or primary key) exists is updated; the others are added.
    Any mistake stops the load, naming the file, the object and the field: nothing is
    written then.
    """
    try:
        count = load_files(_database(ctx, target), files)
    except (FixtureError, ConfigurationError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Loaded {count} object{'s' if count != 1 else ''} from {', '.join(files)}.")


__all__ = ["db"]
