"""The ``kettle`` command: ``new``, ``run``, ``routes``, ``shell`` and (with kettle[db]) ``db``."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import click
from rich.console import Console
from rich.table import Table
from watchfiles import PythonFilter

from kettle._loading import Target, load_app, parse_target
from kettle.exceptions import ConfigurationError
from kettle.routing import Route

console = Console()


class _Main(click.Group):
    """The ``kettle`` group. Batteries' groups load on first use (``kettle run`` never
    imports SQLAlchemy); without their extra installed they say what to install.

    Any other name is looked up among the app's own commands (``@app.command()``, see
    kettle.commands): the app is the one ``--app`` names, else ``KETTLE_APP``, else
    ``app.py`` here. ``kettle --help`` lists them under a heading of their own.
    """

    lazy = {
        "new": ("kettle._newproject", "new", "kettle"),
        "db": ("kettle.db.cli", "db", "kettle[db]"),
        "createsuperuser": ("kettle.auth.cli", "createsuperuser", "kettle[auth]"),
        "changepassword": ("kettle.auth.cli", "changepassword", "kettle[auth]"),
        "clearsessions": ("kettle.auth.cli", "clearsessions", "kettle[auth]"),
        "openapi": ("kettle.openapi.cli", "openapi", "kettle"),
        "tasks": ("kettle.tasks.cli", "tasks", "kettle[tasks]"),
        "worker": ("kettle.tasks.worker", "worker", "kettle[tasks]"),
        "i18n": ("kettle.i18n.cli", "i18n", "kettle[i18n]"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = _app_commands(ctx, quiet=True)
        return sorted({*super().list_commands(ctx), *self.lazy, *own})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attribute, extra = self.lazy[name]
            try:
                command = getattr(importlib.import_module(module), attribute)
            except ImportError as error:
                message = f"`kettle {name}` needs `pip install {extra}` ({error})."
                command = click.Command(name, help=message, callback=_fail(message))
            self.add_command(command, name)
        builtin = super().get_command(ctx, name)
        if builtin is not None or name in self.lazy:
            return builtin
        return _app_commands(ctx, quiet=False).get(name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        typed = not ctx.resilient_parsing and not name.startswith("-")
        if typed and self.get_command(ctx, name) is None:
            # NOTE: Click's own suggestions know only the commands added to the group.
            close = difflib.get_close_matches(name, self.list_commands(ctx))
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        own = _app_commands(ctx, quiet=True)
        builtin = [name for name in self.list_commands(ctx) if name not in own]
        sections = [("Commands", builtin), (f"Commands of {_app_label(ctx)}", sorted(own))]
        for title, names in sections:
            rows = []
            for name in names:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


_TARGET = "kettle.app_target"
_COMMANDS = "kettle.app_commands"


def _remember_app(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    ctx.meta[_TARGET] = value


def _app_label(ctx: click.Context) -> str:
    return str(ctx.meta.get(_TARGET) or os.environ.get("KETTLE_APP") or "app.py")


def _app_commands(ctx: click.Context, *, quiet: bool) -> dict[str, click.Command]:
    """The commands of the app (loaded once per run). ``quiet`` (listing them): without
    an app there are none, and an app that fails to load is a warning, not an error."""
    if _COMMANDS in ctx.meta:
        return cast("dict[str, click.Command]", ctx.meta[_COMMANDS])
    target = ctx.meta.get(_TARGET) or os.environ.get("KETTLE_APP") or None
    if quiet and not target and not Path("app.py").is_file():
        return {}
    from kettle.commands import app_commands

    os.environ.setdefault("KETTLE_ENV", "development")
    try:
        commands = app_commands(load_app(parse_target(target)))
    except click.UsageError as error:
        if quiet:
            return {}
        raise click.UsageError(f"{error.message} (Looked for the app's commands.)") from None
    except Exception as error:
        if not quiet:
            if isinstance(error, ConfigurationError):
                raise click.ClickException(str(error)) from None
            raise
        click.secho(
            f"Warning: Could not load the app's commands from {_app_label(ctx)}: "
            f"{type(error).__name__}: {error}",
            fg="yellow",
            err=True,
        )
        commands = {}
    ctx.meta[_COMMANDS] = commands
    return commands


def _fail(message: str) -> Callable[[], None]:
    def fail() -> None:
        raise click.UsageError(message)

    return fail


@click.group(cls=_Main)
@click.version_option(package_name="kettle")
@click.option(
    "-a",
    "--app",
    envvar="KETTLE_APP",
    is_eager=True,
    expose_value=False,
    callback=_remember_app,
    help="The app whose own commands to list and run: a file like hello.py or "
    "pkg.module:app (default: KETTLE_APP, else app.py here).",
)
def main() -> None:
    """Kettle: a web framework that starts small and grows batteries."""


@main.command()
@click.argument("target", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart when a file changes (default: on in development).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes; more than one implies --production.",
)
@click.option("--production", is_flag=True, help="Run with KETTLE_ENV=production settings.")
@click.option(
    "--server",
    type=click.Choice(["granian", "uvicorn"]),
    default="granian",
    show_default=True,
    help="The ASGI server to run on.",
)
@click.option(
    "--grace",
    envvar="KETTLE_SHUTDOWN_GRACE",
    default=30,
    show_default=True,
    type=click.IntRange(min=1, max=86_400),
    help="Seconds (1 to 86400) that requests in flight get to finish after SIGTERM before "
    "their worker is stopped (default: KETTLE_SHUTDOWN_GRACE, else 30).",
)
def run(
    target: str | None,
    host: str,
    port: int,
    reload: bool | None,
    workers: int,
    production: bool,
    server: str,
    grace: int,
) -> None:
    """Serve TARGET (a file like hello.py, or module:app) for development or production.

    \b
      kettle run hello.py                # development: debug page, auto-reload
      kettle run app:app --workers 4     # production: needs KETTLE_SECRET_KEY

    On SIGTERM (or Ctrl-C) the server stops accepting connections, closes idle ones,
    lets requests in flight finish for up to --grace seconds, then runs the app's
    shut-down hooks and exits.
    """
    resolved = parse_target(target)
    production = production or workers > 1
    if production:
        os.environ["KETTLE_ENV"] = "production"
    else:
        os.environ.setdefault("KETTLE_ENV", "development")
    if reload is None:
        reload = os.environ["KETTLE_ENV"] == "development"
    if reload and workers > 1:
        raise click.UsageError("--reload works with one worker; drop --workers or --reload.")
    batteries = _check_app(resolved)
    mode = os.environ["KETTLE_ENV"]
    label = f"granian on {_granian_loop()}" if server == "granian" else server
    console.print(
        f"[bold]Kettle[/] serving [cyan]{resolved.import_string}[/] ({mode}, {label}, "
        f"{workers} worker{'s' if workers > 1 else ''}{', reload' if reload else ''}) "
        f"at [link]http://{host}:{port}[/]"
    )
    from kettle.logs import dict_config

    try:
        logs = dict_config()  # NOTE: checks KETTLE_LOG_FORMAT before any worker starts
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    # Kettle's access log (RequestLogs) replaces the server's; without it, development
    # keeps the server's and production has none.
    access = mode != "production" and "request_logs" not in batteries
    serve = _run_uvicorn if server == "uvicorn" else _run_granian
    with _metrics_dir(workers > 1 and "metrics" in batteries):
        serve(
            resolved.import_string,
            resolved.folder,
            host,
            port,
            reload,
            workers,
            logs,
            access,
            grace,
        )


@contextlib.contextmanager
def _metrics_dir(needed: bool) -> Iterator[None]:
    """Several workers share their Prometheus metrics through files in a directory made
    for this run (unless PROMETHEUS_MULTIPROC_DIR names one) and removed after it."""
    if not needed or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="kettle-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _check_app(target: Target) -> set[str]:
    """Import and build the app once here, so a mistake is reported before serving; the
    names the app's batteries took in ``app.state`` (``db``, ``request_logs``...)."""
    before = set(sys.modules)
    app = load_app(target)
    build = getattr(app, "build", None)
    if build is not None:
        try:
            build()
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from None
    # NOTE: the server's workers may be forked from this process; they must import the
    # user's modules afresh (after a reload, say), so forget everything imported here.
    # Only the project's own modules (under its folder) are forgotten; libraries stay.
    folder = str(target.folder)
    for name in set(sys.modules) - before:
        path = getattr(sys.modules[name], "__file__", None) or ""
        if path.startswith(folder) and "site-packages" not in path:
            del sys.modules[name]
    return set(vars(getattr(app, "state", None) or object()))


#: Granian's event loop for `kettle run`: uvloop, the fastest configuration measured for
#: Kettle on the database tests (`bench/tfb.py --servers`; docs/benchmarks.md, "Which server
#: `kettle run --production` uses"). Named, not left to Granian's "auto", which would pick
#: rloop whenever it is installed, and rloop cannot open an asyncpg connection.
_GRANIAN_LOOP = "uvloop"


def _granian_loop() -> str:
    """_GRANIAN_LOOP where it is installed (a dependency of Kettle except on Windows),
    else asyncio."""
    return _GRANIAN_LOOP if importlib.util.find_spec(_GRANIAN_LOOP) else "asyncio"


def _run_granian(
    target: str,
    folder: Path,
    host: str,
    port: int,
    reload: bool,
    workers: int,
    logs: dict[str, Any],
    access: bool,
    grace: int,
) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    # NOTE: Granian starts workers with multiprocessing's default method, fork on Linux. A
    # forked worker would inherit what _check_app imported: the models already in
    # kettle.db's MetaData, so re-importing them fails ("Table 'note' is already defined").
    # Spawned workers start clean, as they do on macOS (and as uvicorn's do).
    multiprocessing.set_start_method("spawn", force=True)
    Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        loop=Loops(_granian_loop()),
        workers=workers,
        reload=reload,
        reload_paths=[folder] if reload else None,
        # NOTE: only code and settings restart the server; Jinja reloads templates itself.
        reload_filter=_CodeFilter,
        working_dir=folder,
        log_access=access,
        log_dictconfig=logs,
        # NOTE: on SIGTERM Granian's workers stop accepting, close idle keep-alive
        # connections and finish the requests in flight; this bounds how long they may.
        workers_kill_timeout=grace,
    ).serve()


class _CodeFilter(PythonFilter):
    def __init__(self) -> None:
        super().__init__(extra_extensions=(".env",))


def _run_uvicorn(
    target: str,
    folder: Path,
    host: str,
    port: int,
    reload: bool,
    workers: int,
    logs: dict[str, Any],
    access: bool,
    grace: int,
) -> None:
    try:
        import uvicorn
    except ImportError:
        raise click.UsageError(
            "uvicorn is not installed; `pip install kettle[uvicorn]` or use --server granian."
        ) from None
    uvicorn.run(
        target,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(folder)] if reload else None,
        workers=workers,
        app_dir=str(folder),
        log_config=logs,
        access_log=access,
        timeout_graceful_shutdown=grace,
    )


@main.command()
@click.argument("target", required=False)
def routes(target: str | None) -> None:
    """List the routes of TARGET: methods, path, name and handler.

    Nothing is cut: in a terminal a long path or name wraps inside its column; piped or
    redirected (`kettle routes | grep article`), each route is one plain line.
    """
    os.environ.setdefault("KETTLE_ENV", "development")
    app = load_app(parse_target(target))
    app.build()
    rows: list[tuple[str, str, str, str]] = []
    for path, by_method in app.router.static.items():
        rows.extend(_route_rows(path, by_method))
    for pattern in app.router.patterns:
        rows.extend(_route_rows(None, pattern.by_method))
    for mount in app.router.mounts:
        rows.append(("*", mount.prefix + "/…", mount.name or "", type(mount.app).__name__))
    header = ("Methods", "Path", "Name", "Handler")
    if not console.is_terminal:
        # NOTE: for grep and friends: full cells, aligned, no table borders.
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            click.echo("  ".join(cells).rstrip())
        return
    table = Table(title=f"Routes of {app.name}")
    for column in header:
        # NOTE: "fold" wraps a long path or name inside its cell rather than ending it in
        # "…": the full name is what url_for() needs.
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _route_rows(path: str | None, by_method: dict[str, Route]) -> list[tuple[str, str, str, str]]:
    """One row per route (a route answering several methods is one row)."""
    methods: dict[int, list[str]] = {}
    routes: dict[int, Route] = {}
    for method, route in by_method.items():
        methods.setdefault(id(route), []).append(method)
        routes[id(route)] = route
    rows = []
    for key, names in methods.items():
        route = routes[key]
        fn = route.endpoint
        handler = f"{fn.__module__}.{fn.__qualname__}"
        rows.append((", ".join(sorted(names)), path or route.path, route.name, handler))
    return rows


@main.command()
@click.argument("target", required=False)
def shell(target: str | None) -> None:
    """Open a Python shell with the app of TARGET loaded as ``app``."""
    os.environ.setdefault("KETTLE_ENV", "development")
    app = load_app(parse_target(target))
    namespace = {"app": app}
    banner = f"Kettle shell: `app` is {app!r}."
    try:
        from IPython import start_ipython  # type: ignore[import-not-found]
    except ImportError:
        import code

        code.interact(banner=banner, local=namespace)
    else:
        start_ipython(argv=[], user_ns=namespace, display_banner=False)


if __name__ == "__main__":
    main()
