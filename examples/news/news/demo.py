"""The steps of ``python -m news demo``: database, roles, demo accounts, seed data, server.

Each step is safe to repeat, so the demo can be run again on the same database: migrations
apply only what is missing, roles and accounts are created only when absent, and the seed
is skipped once it has completed (see ``news.seed``); its dates are moved forward by the
time since the last run instead (``news.demo_clock``), so the demo never looks stale.
Nothing here changes what a person added or edited since the last run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from kettle.auth import User
from kettle.db import Database, fields
from kettle.db.migrations import Migrations
from news.demo_clock import catch_up, start
from news.demo_rows import Counts
from news.seed import Seeded, seed

#: ``examples/news``: the project, with ``news/`` (the package) and ``migrations/``.
PROJECT = Path(__file__).resolve().parents[1]
MIGRATIONS = PROJECT / "migrations"
APP_FILE = PROJECT / "news" / "app.py"


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in, created when missing; its fixed password is printed for the visitor,
    and so is the key of its authenticator (editors and admins must use two-factor
    authentication: ``news.identity``)."""

    username: str
    password: str
    role: str  # the auth group it joins
    #: The TOTP secret (base32) the account is enrolled with: public, like the password.
    totp_secret: str
    superuser: bool = False

    def code(self) -> str:
        """The authenticator's current code (``python -m news code <username>``)."""
        import pyotp

        return pyotp.TOTP(self.totp_secret).now()


ACCOUNTS = (
    DemoAccount(
        "admin", "kettle-demo-admin", "admin", "KETTLENEWSDEMOADMINAUTHENTICATOR", superuser=True
    ),
    DemoAccount("editor", "kettle-demo-editor", "editor", "KETTLENEWSDEMOEDITORAUTHENTICATR"),
)


def demo_account(username: str) -> DemoAccount | None:
    """The demo account named ``username``, or None."""
    return next((account for account in ACCOUNTS if account.username == username), None)


def prepare_database(db: Database, console: Console) -> None:
    """Create the SQLite file's folder if needed, then apply the migrations."""
    if db.dialect == "sqlite" and db.url.database and db.url.database != ":memory:":
        Path(db.url.database).parent.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]Database[/] {db.url.render_as_string(hide_password=True)}")
    for line in Migrations(db, MIGRATIONS, progress=False).migrate():
        console.print(f"  [green]✓[/] {line}")


def ensure_accounts(db: Database) -> list[tuple[DemoAccount, bool]]:
    """The site's roles, then each demo account unless its username is taken; returns
    ``(account, created)`` pairs. An existing account is left as it is (password too),
    but gets the demo authenticator if it has none, so that it can still sign in."""
    from news.identity import enrol_authenticator
    from news.roles import ensure_roles, grant_role

    assert db.app is not None, "the news app's database (news.app.db)"
    db.app.build()  # NOTE: the development secret key, which seals the TOTP secrets
    secret_key = db.app.settings.secret_key
    made = []
    with db.session():
        ensure_roles()
        for account in ACCOUNTS:
            existing = User.objects.filter(username=account.username).first()
            if existing is not None:
                enrol_authenticator(existing, account.totp_secret, secret_key)
                made.append((account, False))
                continue
            user = User(
                username=account.username,
                email=f"{account.username}@kettle-news.example",
                is_superuser=account.superuser,
            )
            user.set_password(account.password)  # PERF: two Argon2id hashes, once
            user.save()
            grant_role(user, account.role)  # the group, and is_staff for the admin
            enrol_authenticator(user, account.totp_secret, secret_key)
            made.append((account, True))
    return made


def print_accounts(console: Console, accounts: list[tuple[DemoAccount, bool]]) -> None:
    console.print("[bold]Demo accounts[/] (sign in at /auth/login):")
    for account, created in accounts:
        note = "created" if created else "existing account, left as it was"
        console.print(
            f"  {account.role:<7} [cyan]{account.username}[/] / [cyan]{account.password}[/]"
            f"  ({note})"
        )
    console.print(
        "  Editors and admins also give a code from an authenticator app: add the key "
        "to one, or run [cyan]python -m news code <username>[/] for the current code."
    )
    for account, _ in accounts:
        console.print(f"  {account.username:<7} key [cyan]{account.totp_secret}[/]")


def run_seed(
    db: Database, counts: Counts, console: Console, now: dt.datetime | None = None
) -> Seeded:
    """Seed once; on later runs move the seed's dates forward, so the demo stays current
    (``news.demo_clock``: "top this week" is never empty, "5 minutes ago" stays true)."""
    now = now or fields.now()
    result = seed(db, counts, now=now, console=console)
    if result.skipped:
        console.print("[bold]Seed data[/] already there: nothing added, your changes kept.")
        moved = catch_up(db, now)
        if moved:
            console.print(f"[bold]Seed data[/] dated {_span(moved)} later, to stay current.")
    else:
        start(db, now)
        total = sum(result.rows.values())
        console.print(f"[bold]Seed data[/] {total:,} rows in {result.seconds:.1f} s.")
    return result


def _span(interval: dt.timedelta) -> str:
    if interval.days:
        return f"{interval.days} day{'s' if interval.days != 1 else ''}"
    hours = interval.seconds // 3600
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = interval.seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else "a few seconds"


#: Who the stand-in GitHub signs in: made up, and none of the seeded readers.
GITHUB_LOGIN = "octo-reader"


@contextlib.contextmanager
def stand_in_github() -> Iterator[str | None]:
    """A stand-in GitHub on a free 127.0.0.1 port while the block runs, with the settings
    that point "Sign in with GitHub" at it in the environment; yields its address. None,
    and nothing started, when the environment configures a real GitHub app
    (``KETTLE_OIDC_GITHUB_CLIENT_ID``).

    It is ``kettle.auth.oidc.devprovider``, the provider Kettle's tests sign in through:
    it consents at once, as ``GITHUB_LOGIN``. Enter it before ``news.app`` is imported
    (its settings read the environment once); the server's workers inherit it.
    """
    if os.environ.get("KETTLE_OIDC_GITHUB_CLIENT_ID"):
        yield None
        return
    from kettle.auth.oidc.devprovider import CLIENT_ID, CLIENT_SECRET, Account, running_provider

    settings = {
        "KETTLE_NEWS_GITHUB_URL": "",
        "KETTLE_OIDC_GITHUB_CLIENT_ID": CLIENT_ID,
        "KETTLE_OIDC_GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    }
    with running_provider() as provider:
        provider.account = Account(
            sub="github-9001",
            github_id=9001,
            preferred_username=GITHUB_LOGIN,
            name="Octo Reader",
            email=f"{GITHUB_LOGIN}@github.example",
        )
        settings["KETTLE_NEWS_GITHUB_URL"] = provider.url
        os.environ.update(settings)
        try:
            yield provider.url
        finally:
            for name in settings:
                os.environ.pop(name, None)


def serve(host: str, port: int, console: Console, github: str | None = None) -> None:
    """Serve the site with ``kettle run``'s own runner (Granian, one worker, no reload);
    ``github``: the address of the stand-in GitHub (``stand_in_github``), if one runs."""
    from kettle.cli import run

    base = f"http://{host}:{port}"
    console.print(f"[bold]Site[/]   {base}/")
    if github is not None:
        console.print(
            f"[bold]GitHub[/] a stand-in at {github}: [cyan]Sign in with GitHub[/] on the "
            f"login page signs you in as [cyan]{GITHUB_LOGIN}[/] at once (a reader account, "
            "made the first time)."
        )
    console.print(f"[bold]Admin[/]  {base}/admin/   (Ctrl+C stops the server)")
    click.get_current_context().invoke(
        run,
        target=str(APP_FILE),
        host=host,
        port=port,
        reload=False,
        workers=1,
        production=False,
        server="granian",
    )
