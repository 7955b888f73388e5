"""``kettle i18n``: extract, init, update and compile an app's catalogues (Babel).

The catalogues live in ``locale/`` next to the app (the folder of ``app.py``, or of the
package's ``app.py`` in a ``kettle new`` project)::

    kettle i18n extract              # Python files and templates -> locale/messages.pot
    kettle i18n init fr de           # locale/fr/LC_MESSAGES/messages.po, one per language
    kettle i18n update               # merge a new .pot into every .po
    kettle i18n compile              # .po -> .mo, which the app reads at start-up
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from kettle.i18n._catalogues import APP_DOMAIN, folder_name

#: What ``extract`` reads: Python files, and HTML/text templates with Jinja2's extractor.
MAPPING = """\
[python: **.py]
[jinja2: **/templates/**.html]
[jinja2: **/templates/**.txt]
"""
#: Besides Babel's defaults (``_``, ``gettext``, ``ngettext``, ``pgettext``, ``N_``...).
KEYWORDS = ("gettext_noop", "lazy_gettext", "lazy_pgettext:1c,2", "lazy_ngettext:1,2")
_root = click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The app's folder (default: the folder of TARGET, else of app.py here).",
)
_domain = click.option(
    "--domain", default=APP_DOMAIN, show_default=True, help="The catalogue's name."
)
_target = click.argument("target", required=False)


@click.group()
def i18n() -> None:
    """Translations: extract the messages, start, update and compile catalogues."""


def _folder(target: str | None, root: Path | None) -> Path:
    if root is not None:
        return root.resolve()
    target = target or os.environ.get("KETTLE_APP")
    if not target:
        if Path("app.py").is_file():
            return Path.cwd()
        raise click.UsageError(
            "No app given and there is no app.py here: name it (`kettle i18n extract "
            "mysite/app.py`) or give its folder (--root mysite)."
        )
    location = target.partition(":")[0]
    if location.endswith(".py"):
        path = Path(location)
        if not path.is_file():
            raise click.UsageError(f"{location} does not exist (looked in {Path.cwd()}).")
        return path.resolve().parent
    from kettle._loading import load_app, parse_target

    os.environ.setdefault("KETTLE_ENV", "development")
    return Path(load_app(parse_target(target)).root)


def _babel(*argv: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    # NOTE: Babel's frontend is untyped; run() returns the command's exit status.
    status = CommandLineInterface().run(["pybabel", "--quiet", *argv])  # type: ignore[no-untyped-call]
    if status:
        raise click.ClickException(f"pybabel {argv[0]} failed (status {status}).")


def _po_languages(locale: Path, domain: str) -> list[str]:
    found = sorted(p.parent.parent.name for p in locale.glob(f"*/LC_MESSAGES/{domain}.po"))
    if not found:
        raise click.UsageError(
            f"There is no catalogue in {locale}: start one with `kettle i18n init <language>`."
        )
    return found


@i18n.command()
@_target
@_root
@_domain
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the template here instead of locale/<domain>.pot.",
)
def extract(target: str | None, root: Path | None, domain: str, output: Path | None) -> None:
    """Collect the translatable messages of the app into locale/<domain>.pot."""
    folder = _folder(target, root)
    if output is None:
        (folder / "locale").mkdir(exist_ok=True)
    pot = output or folder / "locale" / f"{domain}.pot"
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as mapping:
        mapping.write(MAPPING)
    try:
        keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
        _babel(
            "extract",
            "--mapping-file",
            mapping.name,
            *keywords,
            "--sort-by-file",
            "--no-wrap",
            "--project",
            folder.name,
            "--ignore-dirs",
            ".* _* locale tests",
            "--output-file",
            str(pot),
            str(folder),
        )
    finally:
        os.unlink(mapping.name)
    # NOTE: locations relative to the app's folder, the same on every machine.
    text = pot.read_text(encoding="utf-8").replace(f"#: {folder}/", "#: ")
    pot.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {pot}.")


@i18n.command()
@click.argument("languages", nargs=-1, required=True)
@click.option("--app", "target", help="The app (default: app.py here).")
@_root
@_domain
def init(languages: tuple[str, ...], target: str | None, root: Path | None, domain: str) -> None:
    """Start a catalogue for each of LANGUAGES (fr, de, pt-BR...) from the .pot."""
    locale = _folder(target, root) / "locale"
    pot = locale / f"{domain}.pot"
    if not pot.is_file():
        raise click.UsageError(f"{pot} does not exist: run `kettle i18n extract` first.")
    for language in languages:
        po = locale / folder_name(language) / "LC_MESSAGES" / f"{domain}.po"
        if po.exists():
            raise click.UsageError(f"{po} exists already; `kettle i18n update` merges into it.")
        _babel("init", "-i", str(pot), "-d", str(locale), "-D", domain, "-l", folder_name(language))
        click.echo(f"Wrote {po}.")


@i18n.command()
@_target
@_root
@_domain
def update(target: str | None, root: Path | None, domain: str) -> None:
    """Merge the .pot into every catalogue: new messages appear, changed ones turn fuzzy."""
    locale = _folder(target, root) / "locale"
    pot = locale / f"{domain}.pot"
    if not pot.is_file():
        raise click.UsageError(f"{pot} does not exist: run `kettle i18n extract` first.")
    for language in _po_languages(locale, domain):
        # NOTE: unwrapped, as extract writes the .pot: one line per message keeps diffs small.
        _babel(
            "update", "--no-wrap", "-i", str(pot), "-d", str(locale), "-D", domain, "-l", language
        )
        click.echo(f"Updated {locale / language / 'LC_MESSAGES' / domain}.po.")


@i18n.command()
@_target
@_root
@_domain
def compile(target: str | None, root: Path | None, domain: str) -> None:
    """Compile every catalogue to the .mo file the app loads (fuzzy entries left out)."""
    locale = _folder(target, root) / "locale"
    for language in _po_languages(locale, domain):
        _babel("compile", "-d", str(locale), "-D", domain, "-l", language)
        click.echo(f"Compiled {locale / language / 'LC_MESSAGES' / domain}.mo.")


__all__ = ["i18n"]
