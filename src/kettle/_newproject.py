"""``kettle new``: a project to start from, with a database and tests, or in one file.

::

    kettle new blog              # blog/: package, models, migrations, templates, tests
    kettle new blog --micro      # blog/: app.py and test_app.py
    kettle new blog -d ~/src     # in ~/src instead of the current folder

The files come from ``kettle/project_templates/``: ``*.tmpl`` files are rendered with
Jinja2 (``{{ name }}``), other files are copied as they are, and a ``__package__`` folder
takes the project's name, as does ``__package__`` in a file name (the systemd unit). The
full project's first migration is generated here, by ``kettle db makemigrations`` in a
process of its own, so ``kettle db migrate`` works at once. Besides the code, the full
project gets what deploying it needs: a Dockerfile, a compose file, a systemd unit and an
nginx site (docs/deployment.md).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import click
import jinja2

TEMPLATES = Path(__file__).resolve().parent / "project_templates"
#: Template file names that become another name in the project (``__package__``: NAME).
RENAMES = {"gitignore": ".gitignore", "dockerignore": ".dockerignore"}
#: Names that would shadow Kettle or a folder of the project itself.
RESERVED = frozenset({"kettle", "tests", "migrations", "templates", "static"})
_PACKAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class KettleSource:
    """Where the running Kettle was installed from, for the new project's Makefile."""

    version: str
    #: The local source folder (an editable or a plain install of a checkout), else None.
    path: Path | None

    @property
    def install(self) -> str:
        """What ``pip install`` is given to install this Kettle."""
        return str(self.path) if self.path is not None else f"kettle=={self.version}"


def kettle_source() -> KettleSource:
    """The running Kettle's version and, if installed from a local folder, that folder
    (read from the ``direct_url.json`` pip records, PEP 610)."""
    try:
        distribution = importlib.metadata.distribution("kettle")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return KettleSource("0.0.0", Path(__file__).resolve().parents[2])
    path = None
    try:
        direct = json.loads(distribution.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    url = urlsplit(direct.get("url", ""))
    if url.scheme == "file" and "dir_info" in direct:
        folder = Path(url2pathname(unquote(url.path)))
        if (folder / "pyproject.toml").is_file():
            path = folder
    return KettleSource(distribution.version, path)


def check_name(name: str) -> None:
    """Refuse a NAME that cannot be the project's Python package."""
    if keyword.iskeyword(name):
        raise click.BadParameter(
            f"{name!r} is a Python keyword, so it cannot name a package; e.g. 'my_{name}'.",
            param_hint="NAME",
        )
    if not _PACKAGE_NAME.fullmatch(name):
        hint = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "project"
        hint = f"my_{hint}" if hint[0].isdigit() else hint
        where = " (to create it in another folder, use --directory)" if "/" in name else ""
        raise click.BadParameter(
            f"{name!r} is not a Python package name: use lowercase letters, digits and "
            f"underscores, not starting with a digit, e.g. {hint!r}{where}.",
            param_hint="NAME",
        )
    if name in sys.stdlib_module_names or name in RESERVED:
        clash = {"kettle": "Kettle itself"}.get(name, "a folder of the project")
        if name in sys.stdlib_module_names:
            clash = f"the standard library's {name} module"
        raise click.BadParameter(
            f"{name!r} would shadow {clash}; choose another name, e.g. 'my_{name}'.",
            param_hint="NAME",
        )


def check_folder(folder: Path) -> None:
    """Refuse to write into a file or a folder that already has something in it."""
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(
            f"{folder} exists and is a file; choose another name or remove it."
        )
    if folder.is_dir() and any(folder.iterdir()):
        raise click.ClickException(
            f"{folder} already exists and is not empty; choose another name, another "
            "parent folder (--directory), or empty it first."
        )


def render(source: Path, target: Path, context: dict[str, object]) -> list[Path]:
    """Copy the template folder ``source`` to ``target``, rendering ``*.tmpl`` files;
    returns the files written."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    written = []
    for template in sorted(source.rglob("*")):
        if template.is_dir() or template.name.endswith((".pyc", ".pyo")):
            continue
        relative = template.relative_to(source)
        parts = [
            RENAMES.get(part, part).replace("__package__", str(context["name"]))
            for part in relative.parts
        ]
        path = target.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".tmpl":
            path = path.with_suffix("")
            text = environment.get_template(relative.as_posix()).render(context)
            path.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(template, path)
        written.append(path)
    return written


def initial_migration(folder: Path, name: str) -> Path:
    """Run ``kettle db makemigrations`` for the new project, in a process of its own (its
    models must not meet this process's), against an empty in-memory database."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    environ.pop("DATABASE_URL", None)
    environ.update(KETTLE_ENV="development", KETTLE_DATABASE_URL="sqlite://")
    command = [sys.executable, "-m", "kettle.cli", "db", "makemigrations"]
    command += ["--app", f"{name}/app.py", "-m", "initial", "--no-interactive"]
    done = subprocess.run(
        command, cwd=folder, env=environ, capture_output=True, text=True, check=False
    )
    revisions = sorted((folder / "migrations" / "versions").glob("*.py"))
    if done.returncode != 0 or not revisions:
        raise click.ClickException(
            "Could not generate the first migration with `kettle db makemigrations`:\n"
            + (done.stderr or done.stdout).strip()
        )
    return revisions[0]


def _has_db_extra() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("sqlalchemy", "alembic"))


@click.command()
@click.argument("name")
@click.option(
    "--micro", is_flag=True, help="A one-file app (app.py, test_app.py), with no database."
)
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="The folder to create NAME in (default: the current folder).",
)
def new(name: str, micro: bool, directory: Path) -> None:
    """Create a project to start from, in a new folder NAME.

    It is a package with a model, its first migration, a route group (pages, a form and
    JSON), templates, static files and tests, or with --micro one file and its test; both
    have a Makefile whose `make demo` serves the app and `make test` runs the tests.

    \b
      kettle new blog             # then: cd blog && make demo
      kettle new hello --micro
    """
    check_name(name)
    folder = directory / name
    check_folder(folder)
    with_migration = not micro and _has_db_extra()
    source = kettle_source()
    context: dict[str, object] = {
        "name": name,
        "settings_class": name.title().replace("_", "") + "Settings",
        "kettle_version": source.version,
        "kettle_path": str(source.path) if source.path is not None else "",
        "kettle_install": source.install,
    }
    existed = folder.exists()
    try:
        render(TEMPLATES / ("micro" if micro else "project"), folder, context)
        migration = initial_migration(folder, name) if with_migration else None
    except BaseException:
        # Leave nothing half-made behind.
        if existed:
            for child in folder.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    kind = "a one-file Kettle app" if micro else "a Kettle project with a database"
    click.echo(f"Created {folder}: {kind}.")
    if migration is not None:
        click.echo(f"Its first migration: {migration.relative_to(folder)}.")
    elif not micro:
        click.secho(
            "Warning: kettle[db] is not installed here, so there is no migration yet. Once it "
            f"is, run `kettle db makemigrations --app {name}/app.py -m initial` in {folder}.",
            fg="yellow",
            err=True,
        )
    click.echo(f"Kettle comes from {source.install} (see {folder / 'README.md'}).")
    click.echo(f"\nNext:\n  cd {folder}\n  make demo    # http://127.0.0.1:8000\n  make test")
