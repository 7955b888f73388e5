"""Loading the compiled catalogues: the app's ``messages`` over Kettle's own ``kettle``."""

from __future__ import annotations

from pathlib import Path

from babel.support import NullTranslations, Translations

#: Where Kettle's own catalogues live (``<lang>/LC_MESSAGES/kettle.po`` and ``.mo``).
KETTLE_LOCALE = Path(__file__).resolve().parent.parent / "locale"
#: The gettext domain of Kettle's own messages.
KETTLE_DOMAIN = "kettle"
#: The gettext domain of an app's messages (``<root>/locale/<lang>/LC_MESSAGES/messages.mo``).
APP_DOMAIN = "messages"


def folder_name(code: str) -> str:
    """The catalogue folder of a language tag: ``"pt-BR"`` -> ``"pt_BR"``."""
    language, _, region = code.partition("-")
    return f"{language}_{region.upper()}" if region else language


def _load(folder: Path, code: str, domain: str) -> Translations | None:
    path = folder / folder_name(code) / "LC_MESSAGES" / f"{domain}.mo"
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return Translations(file, domain=domain)


def load(code: str, app_locale: Path | None) -> NullTranslations:
    """One catalogue for ``code``: the app's messages, then Kettle's for the rest.

    ``load("fr", app.root / "locale")`` (an untranslated ``NullTranslations`` when
    neither catalogue exists: the source language).
    """
    ours = _load(KETTLE_LOCALE, code, KETTLE_DOMAIN)
    theirs = _load(app_locale, code, APP_DOMAIN) if app_locale is not None else None
    if ours is None or theirs is None:
        return ours or theirs or NullTranslations()
    # NOTE: a fallback, not merge(): each catalogue keeps its own plural rule (an app's
    # French may have two forms where Kettle's, from CLDR, has three).
    theirs.add_fallback(ours)
    return theirs


__all__ = ["APP_DOMAIN", "KETTLE_DOMAIN", "KETTLE_LOCALE", "folder_name", "load"]
