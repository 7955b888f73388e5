"""Fieldsets: an admin form in titled sections, as ``ModelAdmin.fieldsets`` declares them.

The option is Django's: a list of ``(title, options)`` pairs, the title ``None`` for a
section without one. ``options["fields"]`` lists the section's fields in order (a tuple
of names puts them on one row), ``"classes"`` adds CSS classes (``"collapse"`` makes the
section a ``<details>`` a reader opens) and ``"description"`` is plain text shown under
the title::

    fieldsets = [
        (None, {"fields": ["title", "url"]}),
        ("Moderation", {"fields": [("hidden", "featured"), "locked"], "classes": ["collapse"]}),
    ]
    [s.names for s in read_fieldsets(fieldsets)]   # [["title", "url"], ["hidden", ...]]

``read_fieldsets`` turns the option into ``Fieldset`` objects, refusing a malformed one;
the start-up checks (``kettle.admin.checks``) report the same problems with an id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Required, TypedDict

from kettle.exceptions import ConfigurationError

_OPTIONS = ("fields", "classes", "description")


class FieldsetOptions(TypedDict, total=False):
    """The options of one section: ``{"fields": ["title", ("status", "featured")],
    "classes": ["collapse"], "description": "Shown under the title."}``."""

    #: The section's field names in order; a tuple (or list) of names is one row.
    fields: Required[Sequence[str | Sequence[str]]]
    #: CSS classes of the section; ``"collapse"`` renders it closed, in a ``<details>``.
    classes: Sequence[str]
    #: Plain text shown under the title (escaped, like every value on the page).
    description: str


#: The type of ``ModelAdmin.fieldsets``: ``[(title or None, FieldsetOptions), ...]``.
Fieldsets = Sequence[tuple[str | None, FieldsetOptions]]


@dataclass(frozen=True, slots=True)
class Fieldset:
    """One section of a form, read from the option::

    Fieldset("Moderation", (("hidden", "featured"), ("locked",)), ("collapse",))
    """

    #: The heading; None for a section without one.
    title: str | None
    #: The rows of field names, in order; most rows hold one name.
    rows: tuple[tuple[str, ...], ...]
    #: The CSS classes of the section (``"collapse"``, ``"wide"``...).
    classes: tuple[str, ...] = ()
    #: Plain text shown under the title ("" for none).
    description: str = ""

    @property
    def names(self) -> list[str]:
        """The section's field names, row after row: ``["hidden", "featured", "locked"]``."""
        return [name for row in self.rows for name in row]

    @property
    def collapsible(self) -> bool:
        """Whether the section starts closed (the ``"collapse"`` class)."""
        return "collapse" in self.classes


def _where(index: int, title: object) -> str:
    return f"fieldsets[{index}]" + (f" ({title!r})" if isinstance(title, str) else "")


def _kind(value: object) -> str:
    return type(value).__name__


def _rows(raw: object, where: str, problems: list[str]) -> tuple[tuple[str, ...], ...]:
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        problems.append(
            f'{where}: "fields" is a list of names (a tuple of names for a row); '
            f"got a {_kind(raw)}."
        )
        return ()
    rows = []
    for item in raw:
        names = (item,) if isinstance(item, str) else item
        if not isinstance(names, Sequence) or not names:
            problems.append(
                f"{where}: {item!r} is not a field name (use strings; a tuple of them for a row)."
            )
            continue
        bad = [n for n in names if not isinstance(n, str)]
        for name in bad:
            problems.append(
                f"{where}: {name!r} is not a field name (use strings; a tuple of them for a row)."
            )
        if not bad:
            rows.append(tuple(names))
    return tuple(rows)


def _section(index: int, item: object, problems: list[str]) -> Fieldset | None:
    if not (isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2):
        problems.append(
            f"fieldsets[{index}] is a (title, options) pair, the title a str or None; got {item!r}."
        )
        return None
    title, options = item
    where = _where(index, title)
    if title is not None and not isinstance(title, str):
        problems.append(f"{where}: the title is a str or None; got a {_kind(title)}.")
        return None
    if not isinstance(options, dict):
        problems.append(
            f'{where}: the options are a dict ({{"fields": [...]}}); got a {_kind(options)}.'
        )
        return None
    if "fields" not in options:
        problems.append(f'{where}: the options need "fields", the list of field names.')
        return None
    for key in options:
        if key not in _OPTIONS:
            problems.append(
                f"{where}: unknown option {key!r} (the options are {', '.join(_OPTIONS)})."
            )
    classes: Any = options.get("classes", ())
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        problems.append(f'{where}: "classes" is a list of CSS class names; got a {_kind(classes)}.')
        classes = ()
    elif not all(isinstance(c, str) for c in classes):
        problems.append(f'{where}: "classes" is a list of CSS class names (strings).')
        classes = ()
    description = options.get("description", "")
    if not isinstance(description, str):
        problems.append(f'{where}: "description" is plain text; got a {_kind(description)}.')
        description = ""
    if "collapse" in classes and not title:
        problems.append(
            f"{where}: a collapsed section needs a title (the summary a reader clicks to open it)."
        )
    rows = _rows(options["fields"], where, problems)
    return Fieldset(title, rows, tuple(classes), description)


def fieldset_problems(raw: object) -> tuple[list[Fieldset], list[str]]:
    """The sections of ``raw`` (a ``fieldsets`` value) and what is wrong with its shape,
    each problem naming where (``fieldsets[1] ('Moderation'): ...``)::

        fieldset_problems([("Main", {})])[1]
        # ['fieldsets[0] (\\'Main\\'): the options need "fields", the list of field names.']
    """
    if isinstance(raw, str | dict) or not isinstance(raw, Sequence):
        return [], [
            "fieldsets is a list of (title, options) pairs: "
            f'[(None, {{"fields": ["title"]}})]; got a {_kind(raw)}.'
        ]
    problems: list[str] = []
    found = [_section(i, item, problems) for i, item in enumerate(raw)]
    return [f for f in found if f is not None], problems


def read_fieldsets(raw: object, owner: str = "ModelAdmin") -> list[Fieldset]:
    """The sections of a ``fieldsets`` value (what ``get_fieldsets`` returned); a
    malformed one raises ``ConfigurationError`` naming ``owner`` and each problem::

        read_fieldsets([(None, {"fields": ["title", ("status", "featured")]})])
        # [Fieldset(None, (("title",), ("status", "featured")))]
    """
    sections, problems = fieldset_problems(raw)
    if problems:
        raise ConfigurationError(
            f"{owner}.get_fieldsets() returned a malformed value: " + " ".join(problems)
        )
    return sections


def flatten_fieldsets(sections: Sequence[Fieldset]) -> list[str]:
    """Every field name of ``sections``, in page order: ``["title", "url", "hidden"]``."""
    return [name for section in sections for name in section.names]


__all__ = [
    "Fieldset",
    "FieldsetOptions",
    "Fieldsets",
    "fieldset_problems",
    "flatten_fieldsets",
    "read_fieldsets",
]
