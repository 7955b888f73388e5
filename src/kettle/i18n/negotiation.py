"""Choosing a language from ``Accept-Language`` (RFC 9110 12.5.4), forgivingly.

A header that cannot be read chooses nothing (the app's default then applies): a client
never gets an error for it.
"""

from __future__ import annotations

from collections.abc import Collection

#: Longer headers are read only this far (no browser sends more than a few dozen bytes).
MAX_HEADER = 1024


def parse_accept_language(header: str) -> list[str]:
    """The language tags of ``header``, most wanted first, lower-case, ``q=0`` dropped::

    parse_accept_language("fr-CA, fr;q=0.8, en;q=0.5")   # ["fr-ca", "fr", "en"]
    parse_accept_language("garbage;;q=x")                 # []
    """
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:MAX_HEADER].split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        well_formed = tag and len(tag) <= 35 and all(p.isalnum() for p in tag.split("-"))
        if not well_formed and tag != "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
                if not 0.0 <= quality <= 1.0:  # also NaN
                    quality = 0.0
        if quality > 0.0:
            ranked.append((-quality, index, tag))
    ranked.sort()
    return [tag for _, _, tag in ranked]


def negotiate(header: str, languages: Collection[str]) -> str | None:
    """The first of ``languages`` (lower-case tags) that ``header`` accepts, or None.

    A regional tag falls back to its language, and a language to its first region::

        negotiate("fr-CA,en;q=0.5", {"en", "fr"})   # "fr"
        negotiate("de", {"en", "de-at"})            # "de-at"
    """
    for tag in parse_accept_language(header):
        if tag in languages:
            return tag
        primary = tag.partition("-")[0]
        if primary in languages:
            return primary
        for language in languages:
            if language.partition("-")[0] == primary:
                return language
    return None


__all__ = ["negotiate", "parse_accept_language"]
