"""Commands of one's own: functions declared with ``@app.command()`` run as ``kettle <name>``.

::

    @app.command()
    @click.option("--days", default=30, show_default=True, help="Older than this goes.")
    def prune_drafts(days: int) -> None:
        \"\"\"Delete drafts nobody touched for DAYS days.\"\"\"
        ...

``kettle prune-drafts --days 7`` then imports the app, starts it (its lifespans and
start-up hooks run, so the database is ready), runs the function inside the app's
command hooks (kettle.db's: a unit of work, committed when the command returns and rolled
back when it raises) and shuts the app down. A ``def`` command runs in the main thread, as
a script would; an ``async def`` one is awaited on the app's event loop.

The ``kettle`` command itself (``kettle.cli``) lists them in ``kettle --help`` under a
heading of their own; this module builds them, so the app's core never imports Click
until a command is declared.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from kettle.exceptions import ConfigurationError

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.scaffold import Scaffold

#: The names of ``kettle``'s own commands, which an app's command cannot take.
BUILTIN_COMMANDS = frozenset(
    {
        "new",
        "run",
        "routes",
        "shell",
        "db",
        "createsuperuser",
        "changepassword",
        "clearsessions",
        "openapi",
        "tasks",
        "worker",
        "i18n",
    }
)


def command_name(owner: str, fn: Callable[..., Any], name: str | None) -> str:
    """The name ``fn`` runs under: ``name``, a Click command's own, or the function's
    name with dashes (``load_demo`` -> ``load-demo``); a built-in's name is refused::

        command_name("app", load_demo, None)   # "load-demo"
    """
    if name is None:
        name = fn.name if isinstance(fn, click.Command) else fn.__name__.replace("_", "-")
    if not name or any(c.isspace() for c in name) or name.startswith("-"):
        raise ConfigurationError(
            f"The command name {name!r} on {owner!r} cannot be typed after `kettle`: use "
            'letters, digits and dashes, as in @app.command("load-demo").'
        )
    if name in BUILTIN_COMMANDS:
        raise ConfigurationError(
            f"The command {name!r} of {owner!r} clashes: `kettle {name}` is a built-in command. "
            f'Give yours another name: @{owner}.command("other-name").'
        )
    return name


def app_commands(app: App) -> dict[str, click.Command]:
    """The Click commands of ``app`` and its route groups, by name, each running with the
    app started (see the module docstring); two of one name are refused, naming both::

        app_commands(app)["prune-drafts"].main(["--days", "7"])
    """
    found: dict[str, tuple[Scaffold, Callable[..., Any]]] = {}
    pending: list[Scaffold] = [app]
    while pending:
        owner = pending.pop(0)
        for name, fn in owner.commands.items():
            if name in found:
                first = found[name][0]
                raise ConfigurationError(
                    f"Two commands are named {name!r}: one of {first.name!r} "
                    f"({_where(found[name][1])}) and one of {owner.name!r} ({_where(fn)}). "
                    'Rename one, e.g. @tools.command("tools-seed").'
                )
            found[name] = (owner, fn)
        pending.extend(owner.groups)
    return {name: build(app, fn, name) for name, (_, fn) in found.items()}


def build(app: App, fn: Callable[..., Any], name: str) -> click.Command:
    """The Click command that runs ``fn`` with ``app`` started, for ``kettle <name>``::

    build(app, prune_drafts, "prune-drafts").main(["--days", "7"])
    """
    if isinstance(fn, click.Command):
        command = copy.copy(fn)
        if command.callback is not None:
            command.callback = _started(app, command.callback)
        command.name = name
        return command
    return click.command(name)(_started(app, fn))


def _started(app: App, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run inside one event loop with the app started and its command hooks entered."""

    # NOTE: functools.wraps copies the Click parameters (__click_params__) and the help.
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(_run(app, fn, args, kwargs))

    return run


async def _run(app: App, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    async with app.running(), contextlib.AsyncExitStack() as hooks:
        for hook in app.command_hooks:
            await hooks.enter_async_context(hook())
        # NOTE: called here, in the main thread: Click's current context (pass_context)
        # is per thread, and a def command blocks nothing else a command needs.
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


def _where(fn: Callable[..., Any]) -> str:
    callback = fn.callback if isinstance(fn, click.Command) else fn
    return f"{getattr(callback, '__module__', '?')}.{getattr(callback, '__qualname__', fn)}"


__all__ = ["BUILTIN_COMMANDS", "app_commands", "build", "command_name"]
