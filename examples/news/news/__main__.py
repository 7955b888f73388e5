"""``python -m news``: the news site's demo and seed commands (run from ``examples/news``).

::

    python -m news demo                 # migrate, roles, accounts, seed, serve on :8000
                                        # (and a stand-in GitHub to sign in with)
    python -m news demo --port 8080 --articles 500 --no-serve
    python -m news seed                 # only the seed data (skipped when already there)
    python -m news code editor          # the demo editor's current authenticator code

The database is ``DATABASE_URL`` when set (``postgresql://postgres@127.0.0.1/news``),
else the site's SQLite file. Counts can also come from the environment
(``NEWS_SEED_USERS``, ``NEWS_SEED_ARTICLES``, ...), the port from ``NEWS_PORT``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from news.demo_rows import Counts

console = Console()
DEFAULTS = Counts()
_COUNT_OPTIONS = ("users", "articles", "votes", "comments", "comment_votes")


def count_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--users``, ``--articles``, ... (defaults: the demo's ``Counts``) and ``--now``."""
    for name in reversed(_COUNT_OPTIONS):
        command = click.option(
            f"--{name.replace('_', '-')}",
            name,
            type=click.IntRange(min=0),
            default=getattr(DEFAULTS, name),
            show_default=True,
            envvar=f"NEWS_SEED_{name.upper()}",
            help=f"How many {name.replace('_', ' ')} to seed.",
        )(command)
    return click.option(
        "--now",
        type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S"]),
        default=None,
        help="The moment the data leads up to, in UTC (default: now); for reproducible runs.",
    )(command)


def _counts(options: dict[str, Any]) -> Counts:
    try:
        return Counts(**{name: options[name] for name in _COUNT_OPTIONS})
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _now(options: dict[str, Any]) -> dt.datetime | None:
    now: dt.datetime | None = options["now"]
    return now.replace(tzinfo=dt.UTC) if now is not None else None


@click.group()
def main() -> None:
    """The Kettle news site: a populated demo in one command."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, envvar="NEWS_PORT", help="Port.")
@click.option("--serve/--no-serve", default=True, help="Serve the site after preparing it.")
@count_options
def demo(host: str, port: int, serve: bool, **options: Any) -> None:
    """Prepare the database (migrations, roles, demo accounts, seed data), then serve,
    with a stand-in GitHub to sign in through unless a real one is configured."""
    counts = _counts(options)
    # NOTE: before the app is imported: its settings load once, and the demo is a
    # development server (debug pages, no secret key needed).
    os.environ.setdefault("KETTLE_ENV", "development")
    from news import demo as steps

    with contextlib.ExitStack() as running:
        github = None
        if serve:  # before the app's settings load: they point "Sign in with GitHub" at it
            github = running.enter_context(steps.stand_in_github())
        from news.app import db

        steps.prepare_database(db, console)
        steps.print_accounts(console, steps.ensure_accounts(db))
        steps.run_seed(db, counts, console, _now(options))
        db.dispose()  # the server's worker opens its own connections
        if serve:
            steps.serve(host, port, console, github)


@main.command()
@click.argument("username")
def code(username: str) -> None:
    """Print the current authenticator code of a demo account (admin, editor)."""
    from news.demo import ACCOUNTS, demo_account

    account = demo_account(username)
    if account is None:
        names = ", ".join(a.username for a in ACCOUNTS)
        raise click.UsageError(f"No demo account {username!r}: use one of {names}.")
    click.echo(account.code())


@main.command()
@count_options
def seed(**options: Any) -> None:
    """Add the seed data to a migrated database (skipped when it is already there)."""
    counts = _counts(options)
    os.environ.setdefault("KETTLE_ENV", "development")
    from news import demo as steps
    from news.app import db

    steps.run_seed(db, counts, console, _now(options))
    db.dispose()


if __name__ == "__main__":
    main()
