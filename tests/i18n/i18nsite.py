"""Helpers for the i18n tests: catalogues of the test app's own, compiled per test."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from kettle import App
from kettle.i18n import I18n

#: msgid -> translation, per language; a tuple is a plural message (msgid, plural) and
#: its forms.
MESSAGES: dict[str, dict[object, object]] = {
    "fr": {
        "Hello": "Bonjour",
        "Not Found": "Introuvable (traduction de l'app)",
        ("%(num)d apple", "%(num)d apples"): (
            # CLDR's French has three forms: one (0, 1), many (a million...), other.
            "%(num)d pomme",
            "%(num)d pommes",
            "%(num)d pommes",
        ),
        ("%(num)s apple", "%(num)s apples"): ("%(num)s pomme", "%(num)s pommes", "%(num)s pommes"),
        ("menu", "Close"): "Fermer",
        ("verb", "Close"): "Clore",
        "Hello, %(name)s!": "Bonjour, %(name)s !",
    },
    "de": {
        "Hello": "Hallo",
        ("%(num)d apple", "%(num)d apples"): ("%(num)d Apfel", "%(num)d Äpfel"),
        ("%(num)s apple", "%(num)s apples"): ("%(num)s Apfel", "%(num)s Äpfel"),
        "Hello, %(name)s!": "Hallo, %(name)s!",
    },
}


def write_catalogues(root: Path, messages: dict[str, dict[object, object]] = MESSAGES) -> None:
    """Compile ``messages`` into ``root/locale/<lang>/LC_MESSAGES/messages.mo``."""
    for language, entries in messages.items():
        catalog = Catalog(locale=language, domain="messages")
        for key, value in entries.items():
            if isinstance(key, tuple) and isinstance(value, tuple):
                catalog.add(key, value)
            elif isinstance(key, tuple) and key[0] in ("menu", "verb"):
                catalog.add(key[1], value, context=key[0])
            else:
                catalog.add(key, value)
        folder = root / "locale" / language / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "messages.mo").open("wb") as file:
            write_mo(file, catalog)


def make_app(root: Path, **options: object) -> tuple[App, I18n]:
    app = App(root=root)
    options.setdefault("languages", ["en", "fr", "de", "es"])
    return app, I18n(app, **options)  # type: ignore[arg-type]
