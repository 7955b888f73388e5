"""Finding the app a command names: ``hello.py``, ``hello.py:api``, ``pkg.module:app``."""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click


@dataclass(frozen=True, slots=True)
class Target:
    """An importable app: the folder to import from, the module and the attribute."""

    folder: Path
    module: str
    attribute: str

    @property
    def import_string(self) -> str:
        return f"{self.module}:{self.attribute}"


def parse_target(text: str | None) -> Target:
    """Resolve a command-line target; with none, ``app.py`` in the current folder."""
    if not text:
        if not Path("app.py").is_file():
            raise click.UsageError(
                "No app given and there is no app.py here. Name one: `kettle run hello.py` "
                "or `kettle run mypackage.web:app`."
            )
        text = "app.py"
    location, _, attribute = text.partition(":")
    attribute = attribute or "app"
    if location.endswith(".py") or "/" in location or "\\" in location:
        path = Path(location).resolve()
        if not path.is_file():
            raise click.UsageError(f"{location} does not exist (looked in {Path.cwd()}).")
        folder, module = path.parent, path.stem
        # A file inside a package is imported as part of that package.
        while (folder / "__init__.py").is_file():
            module = f"{folder.name}.{module}"
            folder = folder.parent
        return Target(folder, module, attribute)
    return Target(Path.cwd(), location, attribute)


def load_app(target: Target) -> Any:
    """Import the target's module and return the app (calling it if it is a factory)."""
    folder = str(target.folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(target.module)
    except ImportError as exc:
        if exc.name == target.module:
            raise click.UsageError(f"Cannot import {target.module!r} from {folder}.") from None
        raise
    try:
        app = getattr(module, target.attribute)
    except AttributeError:
        raise click.UsageError(
            f"{target.module} has no {target.attribute!r}; name the app with "
            f"`{target.module}:<name>`."
        ) from None
    from kettle.app import App

    if not isinstance(app, App) and _is_factory(app):
        app = app()
    return app


def _is_factory(obj: Any) -> bool:
    """A plain function taking no arguments (``create_app``), not an ASGI callable."""
    if not inspect.isfunction(obj) or inspect.iscoroutinefunction(obj):
        return False
    params = inspect.signature(obj).parameters.values()
    return all(p.default is not p.empty for p in params)
