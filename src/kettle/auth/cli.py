"""``kettle createsuperuser``, ``kettle changepassword`` and ``kettle clearsessions``.

::

    kettle createsuperuser                              # asks for everything
    kettle createsuperuser --username ann --email ann@example.org --password-stdin < pw
    KETTLE_SUPERUSER_PASSWORD=... kettle createsuperuser --username ann --no-input
    kettle changepassword ann
    kettle clearsessions                                # expired sessions go

The app is found as ``kettle run`` finds it (``--app``, ``KETTLE_APP``, else ``app.py``);
it needs ``Auth(app)``. Passwords go through the app's validators; prompts use
``getpass``, so nothing is echoed.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy import exc as sa_exc

from kettle._loading import load_app, parse_target
from kettle.auth import usernames
from kettle.auth.core import Auth
from kettle.auth.models import AbstractUser
from kettle.auth.validators import PasswordValidationError
from kettle.exceptions import ConfigurationError

P = ParamSpec("P")
R = TypeVar("R")
#: The environment variable ``createsuperuser`` takes the password from when it is not
#: given on standard input, for scripts and containers:
#: ``KETTLE_SUPERUSER_PASSWORD=... kettle createsuperuser --username admin --no-input``.
PASSWORD_VARIABLE = "KETTLE_SUPERUSER_PASSWORD"
_APP_HELP = "The app: a file like hello.py or pkg.module:app (default: app.py here)."


def _app_option(function: Callable[P, R]) -> Callable[P, R]:
    return click.option("-a", "--app", "target", envvar="KETTLE_APP", help=_APP_HELP)(function)


def _load_auth(target: str | None) -> Auth:
    os.environ.setdefault("KETTLE_ENV", "development")
    resolved = parse_target(target)
    app = load_app(resolved)
    auth = getattr(app.state, "auth", None)
    if not isinstance(auth, Auth):
        raise click.ClickException(
            f"The app {resolved.import_string} has no kettle.auth: add `auth = Auth(app)` "
            "after `db = Database(app)` where the app is created."
        )
    return auth


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as error:
        raise click.ClickException(
            f"The database refused: {error.orig}. Are the auth tables there? Run "
            "`kettle db migrate` first."
        ) from None
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def _valid(auth: Auth, password: str, user: AbstractUser) -> list[str]:
    try:
        auth.validate_password(password, user)
    except PasswordValidationError as error:
        return error.messages
    return []


def _ask_password(auth: Auth, user: AbstractUser) -> str:
    """Prompt until two entries match and pass the validators."""
    while True:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            click.echo("The two passwords differ; try again.", err=True)
            continue
        problems = _valid(auth, password, user)
        if not problems:
            return password
        for problem in problems:
            click.echo(f"  - {problem}", err=True)


def _given_password(password_stdin: bool) -> str | None:
    if password_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return os.environ.get(PASSWORD_VARIABLE)


def _set_password(auth: Auth, user: AbstractUser, given: str | None, interactive: bool) -> None:
    if given is None:
        if not interactive:
            raise click.UsageError(
                f"No password: pass --password-stdin or set {PASSWORD_VARIABLE} "
                "(or run without --no-input to be asked)."
            )
        given = _ask_password(auth, user)
    else:
        problems = _valid(auth, given, user)
        if problems:
            raise click.ClickException("The password was refused: " + " ".join(problems))
    user.set_password(given)


@click.command()
@_app_option
@click.option("--username", help="The new superuser's username.")
@click.option("--email", help="Their e-mail address (optional).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-input", is_flag=True, help="Never prompt; fail when something is missing.")
def createsuperuser(
    target: str | None,
    username: str | None,
    email: str | None,
    password_stdin: bool,
    no_input: bool,
) -> None:
    """Create a user with every permission (staff and superuser)."""
    auth = _load_auth(target)
    interactive = not no_input and not password_stdin
    if username is None:
        if not interactive:
            raise click.UsageError("--username is required with --no-input or --password-stdin.")
        username = click.prompt("Username").strip()
    if email is None:
        email = (
            click.prompt("E-mail address", default="", show_default=False) if interactive else ""
        )
    model = auth.user_model
    with _database_errors(), auth.db.session():
        keys = sorted(usernames.lookalike_keys(username))  # whatever the case or alphabet
        if model.objects.filter(username_key__in=keys).exists():
            raise click.ClickException(
                f"The username {username!r} is taken, or one that looks the same: choose another."
            )
        user = model(username=username, email=email or "", is_staff=True, is_superuser=True)
        problems = user.validation_errors(["username", "email"])
        if problems:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
            raise click.ClickException(f"Invalid superuser: {details}")
        _set_password(auth, user, _given_password(password_stdin), interactive)
        user.save()
    click.echo(f"Superuser {username!r} created.")


@click.command()
@_app_option
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def changepassword(target: str | None, username: str, password_stdin: bool) -> None:
    """Set USERNAME's password; their sessions end and their API tokens are revoked."""
    auth = _load_auth(target)
    with _database_errors(), auth.db.session():
        user: Any = auth.user_model.objects.filter(username=username).first()
        if user is None:
            raise click.ClickException(f"No user is named {username!r}.")
        given = _given_password(True) if password_stdin else None
        _set_password(auth, user, given, interactive=not password_stdin)
        user.save()
        auth.password_changed(user)  # their API tokens are revoked
    click.echo(f"Password of {username!r} changed.")


@click.command()
@_app_option
def clearsessions(target: str | None) -> None:
    """Delete the expired sessions from the database (run it daily, from cron say); sessions
    in Redis expire there by themselves."""
    from kettle.auth._anonymous_sessions import AnonymousInCookie
    from kettle.auth.redis_sessions import RedisSessionBackend
    from kettle.auth.sessions import DatabaseSessionBackend

    auth = _load_auth(target)
    auth.app.build()  # the default store is known once the app is built
    backend = auth.app.session_backend
    if isinstance(backend, AnonymousInCookie):
        backend = backend.store  # the signed-in sessions; anonymous ones are cookies
    if isinstance(backend, RedisSessionBackend):
        click.echo(
            "Sessions are kept in Redis, which drops each one as it expires: none to delete."
        )
        return
    if not isinstance(backend, DatabaseSessionBackend):
        raise click.ClickException(
            f"The app keeps its sessions with {type(backend).__name__}, not in the database: "
            "there is nothing to clear (signed cookies expire by themselves)."
        )
    with _database_errors():
        purged = backend.purge_expired()
    click.echo(f"Deleted {purged} expired session(s).")


__all__ = ["PASSWORD_VARIABLE", "changepassword", "clearsessions", "createsuperuser"]
