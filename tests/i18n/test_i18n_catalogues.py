"""Kettle's shipped catalogues: every message translated, placeholders kept, .mo fresh."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kettle.i18n._catalogues import KETTLE_LOCALE

SHIPPED = ("fr", "de", "es")
SOURCE = KETTLE_LOCALE.parent
# %(name)s / %(n)d, and {name} (str.format, Jinja's variables are %(name)s already).
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def _key(message: Message) -> object:
    return message.id if isinstance(message.id, str) else tuple(message.id)


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages Kettle's code marks today, extracted afresh (not the committed .pot)."""
    out = tmp_path_factory.mktemp("pot") / "kettle.pot"
    command = [sys.executable, "-m", "kettle.cli", "i18n", "extract", "--root", str(SOURCE)]
    result = subprocess.run(
        [*command, "--output", str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return _read(out)


def test_the_committed_pot_lists_every_marked_message(template: Catalog) -> None:
    committed = {_key(m) for m in _read(KETTLE_LOCALE / "kettle.pot") if m.id}
    marked = {_key(m) for m in template if m.id}
    assert marked - committed == set(), (
        "Messages marked in the code are missing from src/kettle/locale/kettle.pot: run "
        "`kettle i18n extract --root src/kettle --domain kettle`, then "
        "`kettle i18n update --root src/kettle --domain kettle` and translate them."
    )


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated(template: Catalog, language: str) -> None:
    po = _read(KETTLE_LOCALE / language / "LC_MESSAGES" / "kettle.po", language)
    problems: list[str] = []
    for wanted in template:
        if not wanted.id:
            continue
        found: Message | None = po.get(wanted.id, context=wanted.context)
        if found is None:
            problems.append(f"missing: {wanted.id!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {wanted.id!r}")
        strings = found.string if isinstance(found.string, tuple | list) else [found.string]
        ids = wanted.id if isinstance(wanted.id, tuple | list) else [wanted.id]
        if len(strings) != po.num_plurals and found.pluralizable:
            problems.append(f"{len(strings)} plural forms, not {po.num_plurals}: {wanted.id!r}")
        for string in strings:
            if not string:
                problems.append(f"empty: {wanted.id!r}")
            elif _placeholders(string) != _placeholders(ids[-1]) and not (
                # A singular form may say "one" instead of its number.
                len(ids) > 1 and _placeholders(string) <= _placeholders(ids[-1])
            ):
                problems.append(f"placeholders differ: {wanted.id!r} -> {string!r}")
    assert problems == [], f"{language}/LC_MESSAGES/kettle.po:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", SHIPPED)
def test_the_compiled_catalogue_is_fresh(language: str) -> None:
    folder = KETTLE_LOCALE / language / "LC_MESSAGES"
    compiled = io.BytesIO()
    write_mo(compiled, _read(folder / "kettle.po", language))
    assert (folder / "kettle.mo").read_bytes() == compiled.getvalue(), (
        f"{folder / 'kettle.mo'} is older than its .po: run "
        "`kettle i18n compile --root src/kettle --domain kettle`."
    )
