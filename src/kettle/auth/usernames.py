"""Usernames that cannot pass for one another: normal forms, look-alike keys, one script.

Three rules keep a new account from impersonating an existing one:

- **Normal form.** A username is stored NFKC-normalised and stripped
  (``normalize_username``): the full-width ``\\uff41\\uff4e\\uff4e`` is ``ann``.
- **One key per look.** Each user has a ``username_key``: a hash of the Unicode TS #39
  *skeleton* of the case-folded name (``username_key``). Letters that look alike share
  a skeleton (Latin ``a`` and Cyrillic ``\\u0430``, ``l`` and ``1``, ``m`` and ``rn``),
  and the column is unique, so the database itself refuses ``p\\u0430\\u043elo`` next
  to ``paolo``, or ``ADMIN`` next to ``admin``, even from two requests at once.
- **One script.** A name mixing scripts (Latin with Cyrillic or Greek...) is refused
  (``mixed_scripts``); digits and ``. _ @ + -`` go with any script, and Japanese and
  Korean names may mix their scripts with Han as they are written.

::

    username_key("p\\u0430\\u043elo") == username_key("Paolo")   # True
    mixed_scripts("p\\u0430\\u043elo")   # ["Cyrillic", "Latin"]
    check_username("p\\u0430\\u043elo")   # ["Use letters of one script only: ..."]

The confusables data (Unicode's ``confusables.txt``) and the script of each character
come from the ``confusable-homoglyphs`` package, loaded on first use.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from kettle.i18n._gettext import gettext

#: Letters, digits and ``. @ + - _``; at most this many characters.
MAX_LENGTH = 150
_ALLOWED = re.compile(r"^[\w.@+-]+$")
#: Scripts that go with any other: digits and punctuation, and combining marks.
_NEUTRAL = frozenset({"COMMON", "INHERITED"})
#: Scripts written together (TS #39's augmented script sets: Japanese, Korean, Chinese).
_WRITTEN_TOGETHER = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)


def normalize_username(value: str) -> str:
    """NFKC-normalised and stripped: the form a username is stored and compared in::

    normalize_username(" \\uff41\\uff4e\\uff4e ")   # "ann"
    """
    return unicodedata.normalize("NFKC", value).strip()


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character and the prototype it maps to (TS #39's table).

    ``confusable-homoglyphs`` keeps every line of ``confusables.txt`` in both directions;
    a character that is a source has exactly one entry, its prototype. A prototype with
    a single source looks the same from both sides: both then map to the smaller one,
    which gives the same classes of look-alikes.
    """
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or len(entries) != 1:
            continue  # a prototype of several sources (or of several characters)
        target = entries[0]["c"]
        back = confusables_data.get(target, ())
        if len(target) == 1 and len(back) == 1 and back[0]["c"] == char and target > char:
            continue  # a pair: the smaller character is the prototype of both
        table[char] = unicodedata.normalize("NFD", target)
    return table


def skeleton(text: str) -> str:
    """Unicode TS #39's skeleton: equal skeletons mean the strings look alike::

    skeleton("p\\u0430ypal") == skeleton("paypal")   # True (Cyrillic \\u0430)
    """
    table = _prototypes()
    # PERF: at most a few rounds; prototypes are (nearly always) their own skeleton.
    current = unicodedata.normalize("NFD", text)
    for _ in range(4):
        mapped = unicodedata.normalize("NFD", "".join(table.get(c, c) for c in current))
        if mapped == current:
            break
        current = mapped
    return current


def username_skeleton(username: str) -> str:
    """The skeleton of the case-folded NFKC name: what ``username_key`` hashes::

    username_skeleton("p\\u0430\\u043elo") == username_skeleton("PAOLO") == "paolo"
    """
    current = normalize_username(username).casefold()
    # Some prototypes are capitals (the digit 0 looks like O): fold again, to a fixed point.
    for _ in range(4):
        mapped = skeleton(current).casefold()
        if mapped == current:
            break
        current = mapped
    return current


def username_key(username: str) -> str:
    """The key that is unique among users: a SHA-256 of ``username_skeleton`` (64 hex
    digits, as a skeleton can be several times longer than the name)::

        username_key("p\\u0430\\u043elo") == username_key("PAOLO")   # True
    """
    digest = hashlib.sha256(username_skeleton(username).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def lookalike_keys(username: str) -> set[str]:
    """``username_key`` and the key of the name's look before case-folding, so that a
    capital I, which case-folds to i, is still seen as the l it looks like::

        lookalike_keys("paoIo") == {username_key("paoio"), username_key("paolo")}
    """
    name = normalize_username(username)
    return {username_key(name), username_key(skeleton(name))}


def _script(char: str) -> str:
    from confusable_homoglyphs.categories import alias

    script: str = alias(char)
    return script


def mixed_scripts(username: str) -> list[str]:
    """The scripts of a name that mixes them (title case, sorted), or ``[]``::

    mixed_scripts("p\\u0430\\u043elo")    # ["Cyrillic", "Latin"]
    mixed_scripts("zoë_1987") # []
    """
    scripts = {_script(char) for char in normalize_username(username)} - _NEUTRAL
    if len(scripts) <= 1 or any(scripts <= together for together in _WRITTEN_TOGETHER):
        return []
    return sorted(script.replace("_", " ").title() for script in scripts)


def check_username(username: str) -> list[str]:
    """What is wrong with a new username (``[]`` when nothing is), to show in a form::

    check_username("no spaces")   # ["Use at most 150 letters, digits and @ . + - _ only."]
    """
    name = normalize_username(username)
    if not name:
        return [gettext("Choose a username.")]
    if len(name) > MAX_LENGTH or not _ALLOWED.match(name):
        message = gettext("Use at most %(n)d letters, digits and @ . + - _ only.")
        return [message % {"n": MAX_LENGTH}]
    scripts = mixed_scripts(name)
    if scripts:
        foreign = _minority(name)
        both = gettext("%(first)s and %(last)s") % {
            "first": ", ".join(scripts[:-1]),
            "last": scripts[-1],
        }
        message = gettext(
            "Use letters of one script only: this name mixes %(scripts)s letters "
            "(%(letters)s), which can make it look like another name."
        )
        return [message % {"scripts": both, "letters": ", ".join(foreign)}]
    return []


def _minority(name: str) -> list[str]:
    """The letters of the scripts used least in ``name`` (the ones that do not belong)."""
    counts: dict[str, list[str]] = {}
    for char in name:
        script = _script(char)
        if script not in _NEUTRAL:
            counts.setdefault(script, []).append(char)
    main = max(counts, key=lambda script: len(counts[script]))
    return list(dict.fromkeys(c for s, chars in counts.items() if s != main for c in chars))


#: Shown when a name's key is taken: it says why without saying whose it is.
TAKEN = (
    "That username is taken. Names that look the same, whatever their case or alphabet, "
    "count as one: choose another."
)

__all__ = [
    "MAX_LENGTH",
    "TAKEN",
    "check_username",
    "lookalike_keys",
    "mixed_scripts",
    "normalize_username",
    "skeleton",
    "username_key",
    "username_skeleton",
]
