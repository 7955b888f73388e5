"""The ``kettle`` command: ``new``, ``run``, ``routes``, ``shell`` and (with kettle[db]) ``db``."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from watchfiles import PythonFilter

from kettle._loading import Target, load_app, parse_target
from kettle.exceptions import ConfigurationError

console = Console()


class _Main(click.Group):
    """The ``kettle`` group. Batteries' groups load on first use (``kettle run`` never
    imports SQLAlchemy); without their extra installed they say what to install."""

    lazy = {
        "new": ("kettle._newproject", "new", "kettle"),
        "db": ("kettle.db.migrations.cli", "db", "kettle[db]"),
        "createsuperuser": ("kettle.auth.cli", "createsuperuser", "kettle[auth]"),
        "changepassword": ("kettle.auth.cli", "changepassword", "kettle[auth]"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attribute, extra = self.lazy[name]
            try:
                command = getattr(importlib.import_module(module), attribute)
            except ImportError as error:
                message = f"`kettle {name}` needs `pip install {extra}` ({error})."
                command = click.Command(name, help=message, callback=_fail(message))
            self.add_command(command, name)
        return super().get_command(ctx, name)


def _fail(message: str) -> Callable[[], None]:
    def fail() -> None:
        raise click.UsageError(message)

    return fail


@click.group(cls=_Main)
@click.version_option(package_name="kettle")
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
def run(
    target: str | None,
    host: str,
    port: int,
    reload: bool | None,
    workers: int,
    production: bool,
    server: str,
) -> None:
    """Serve TARGET (a file like hello.py, or module:app) for development or production.

    \b
      kettle run hello.py                # development: debug page, auto-reload
      kettle run app:app --workers 4     # production: needs KETTLE_SECRET_KEY
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
    _check_app(resolved)
    mode = os.environ["KETTLE_ENV"]
    console.print(
        f"[bold]Kettle[/] serving [cyan]{resolved.import_string}[/] ({mode}, {server}, "
        f"{workers} worker{'s' if workers > 1 else ''}{', reload' if reload else ''}) "
        f"at [link]http://{host}:{port}[/]"
    )
    if server == "uvicorn":
        _run_uvicorn(resolved.import_string, resolved.folder, host, port, reload, workers)
    else:
        _run_granian(resolved.import_string, resolved.folder, host, port, reload, workers)


def _check_app(target: Target) -> None:
    """Import and build the app once here, so a mistake is reported before serving."""
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


def _run_granian(
    target: str, folder: Path, host: str, port: int, reload: bool, workers: int
) -> None:
    from granian import Granian
    from granian.constants import Interfaces

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
        workers=workers,
        reload=reload,
        reload_paths=[folder] if reload else None,
        # NOTE: only code and settings restart the server; Jinja reloads templates itself.
        reload_filter=_CodeFilter,
        working_dir=folder,
        log_access=os.environ.get("KETTLE_ENV") != "production",
    ).serve()


class _CodeFilter(PythonFilter):
    def __init__(self) -> None:
        super().__init__(extra_extensions=(".env",))


def _run_uvicorn(
    target: str, folder: Path, host: str, port: int, reload: bool, workers: int
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
    )


@main.command()
@click.argument("target", required=False)
def routes(target: str | None) -> None:
    """List the routes of TARGET: methods, path, name and handler."""
    os.environ.setdefault("KETTLE_ENV", "development")
    app = load_app(parse_target(target))
    app.build()
    table = Table(title=f"Routes of {app.name}")
    for column in ("Methods", "Path", "Name", "Handler"):
        table.add_column(column)
    for path, by_method in app.router.static.items():
        _add_rows(table, path, by_method)
    for pattern in app.router.patterns:
        _add_rows(table, None, pattern.by_method)
    for mount in app.router.mounts:
        table.add_row("*", mount.prefix + "/…", mount.name or "", type(mount.app).__name__)
    console.print(table)


def _add_rows(table: Table, path: str | None, by_method: dict[str, object]) -> None:
    seen: dict[int, list[str]] = {}
    routes = {}
    for method, route in by_method.items():
        seen.setdefault(id(route), []).append(method)
        routes[id(route)] = route
    for key, methods in seen.items():
        route = routes[key]
        fn = route.endpoint  # type: ignore[attr-defined]
        table.add_row(
            ", ".join(sorted(methods)),
            path or route.path,  # type: ignore[attr-defined]
            route.name,  # type: ignore[attr-defined]
            f"{fn.__module__}.{fn.__qualname__}",
        )


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
