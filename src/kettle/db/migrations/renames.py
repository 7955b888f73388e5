"""Deciding renames, so autogenerate keeps the data instead of dropping it.

When a table or column disappears from the models and one of a compatible shape appears,
``makemigrations`` asks (or follows ``--rename`` hints) whether it is a rename::

    renamer = Renamer(hints=parse_hints(["article.title=article.headline"]))
    renamer.match_columns("article", "article", removed, added)   # {"title": "headline"}

A confirmed rename becomes ``alter_column(new_column_name=...)`` or ``rename_table``
(see ``kettle.db.migrations.autogen``), never a drop and an add.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kettle.db.migrations.errors import MigrationError

log = logging.getLogger("kettle.db.migrations")

#: Type families whose values survive a rename with a type change (first match wins).
#: Booleans count as numbers: MariaDB stores them as TINYINT.
_FAMILIES: tuple[tuple[type[Any], str], ...] = (
    (sa.Boolean, "number"),
    (sa.Integer, "number"),
    (sa.Numeric, "number"),
    (sa.String, "text"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Interval, "interval"),
    (sa.JSON, "json"),
    (sa.Uuid, "uuid"),
    (sa.LargeBinary, "binary"),
)
#: Families a database may reflect as text (MariaDB's JSON, UUIDs without a native type).
_TEXTUAL = {"text", "json", "uuid"}


def type_family(type_: Any) -> str:
    """The family of a column type: ``VARCHAR(20)`` and ``Text`` are both ``"text"``."""
    if isinstance(type_, sa.TypeDecorator):
        type_ = type_.impl_instance
    for cls, family in _FAMILIES:
        if isinstance(type_, cls):
            return family
    return type(type_).__name__.lower()


def compatible(old: Any, new: Any) -> bool:
    """Whether a column of type ``old`` may have been renamed to one of type ``new``."""
    a, b = type_family(old), type_family(new)
    return a == b or {a, b} <= _TEXTUAL


@dataclass(frozen=True)
class RenameHints:
    """``--rename`` hints: table renames and column renames (by old table and column)."""

    #: Table renames, old name -> new name: ``{"article": "post"}``.
    tables: dict[str, str] = field(default_factory=dict)
    #: Column renames, (old table, old column) -> (new table, new column):
    #: ``{("article", "title"): ("article", "headline")}``.
    columns: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)


def parse_hints(values: Iterable[str]) -> RenameHints:
    """Parse ``old=new`` hints: ``article=post`` renames a table, ``article.title=
    article.headline`` a column (with different tables, the table is renamed too).

    >>> parse_hints(["article.title=article.headline"]).columns
    {('article', 'title'): ('article', 'headline')}
    """
    tables: dict[str, str] = {}
    columns: dict[tuple[str, str], tuple[str, str]] = {}
    for value in values:
        old, sep, new = (part.strip() for part in value.partition("="))
        old_parts, new_parts = old.split("."), new.split(".")
        if (
            not sep
            or len(old_parts) != len(new_parts)
            or len(old_parts) > 2
            or not all(old_parts + new_parts)
        ):
            raise MigrationError(
                f"Cannot read the rename hint {value!r}: write OLD=NEW, as in "
                "--rename article=post (a table) or --rename article.title=article.headline "
                "(a column)."
            )
        if len(old_parts) == 1:
            tables[old] = new
            continue
        columns[(old_parts[0], old_parts[1])] = (new_parts[0], new_parts[1])
        if old_parts[0] != new_parts[0]:
            tables.setdefault(old_parts[0], new_parts[0])
    return RenameHints(tables, columns)


def _warn(message: str) -> None:
    """Log ``message`` as a warning: ``Renamer.warn`` unless one is given."""
    log.warning(message)


@dataclass
class Renamer:
    """Decides, during one autogenerate run, which disappearances are renames.

    ``ask`` is the interactive prompt (``None`` when not interactive); ``warn`` reports a
    likely rename that nothing confirmed. Decisions are kept for the rest of the run.
    """

    #: The renames given with ``--rename``: taken without asking.
    hints: RenameHints = field(default_factory=RenameHints)
    #: Asks the person running the command a yes/no question (``"Did you rename
    #: article.title to article.headline?"``) and returns True for yes; None when the run
    #: is not interactive, so a likely rename is only warned about.
    ask: Callable[[str], bool] | None = None
    #: Reports a likely rename that no hint or answer confirmed, with the ``--rename``
    #: option that would make it one; logs a warning by default.
    warn: Callable[[str], None] = _warn
    #: Decided table renames, old name -> new name.
    tables: dict[str, str] = field(default_factory=dict)
    #: Decided column renames, (old table, old column) -> new column.
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)

    def match_tables(
        self, removed: Sequence[sa.Table], added: Sequence[sa.Table]
    ) -> dict[str, str]:
        """Pair removed tables (reflected) with added ones (models) that are renames."""
        by_name = {t.name: t for t in added}
        for old in removed:
            new_name = self.hints.tables.get(old.name)
            if new_name is not None and new_name in by_name:
                self._used.add(old.name)
                self.tables[old.name] = new_name
                del by_name[new_name]
        for old in removed:
            if old.name in self.tables:
                continue
            for new in list(by_name.values()):
                if _same_shape(old, new) and self._confirm(
                    f"the table {old.name}", f"{old.name}={new.name}"
                ):
                    self.tables[old.name] = new.name
                    del by_name[new.name]
                    break
        return {old.name: self.tables[old.name] for old in removed if old.name in self.tables}

    def match_columns(
        self,
        old_table: str,
        new_table: str,
        removed: Sequence[sa.Column[Any]],
        added: Sequence[sa.Column[Any]],
    ) -> dict[str, str]:
        """Pair removed columns of ``old_table`` with added ones of ``new_table``."""
        found: dict[str, str] = {}
        by_name = {c.name: c for c in added}
        for column in removed:
            hint = self.hints.columns.get((old_table, column.name))
            if hint is not None and hint[0] == new_table and hint[1] in by_name:
                self._used.add(f"{old_table}.{column.name}")
                found[column.name] = hint[1]
                del by_name[hint[1]]
        for column in removed:
            if column.name in found:
                continue
            for new in list(by_name.values()):
                old_ref, new_ref = f"{old_table}.{column.name}", f"{new_table}.{new.name}"
                if compatible(column.type, new.type) and self._confirm(
                    old_ref, f"{old_ref}={new_ref}"
                ):
                    found[column.name] = new.name
                    del by_name[new.name]
                    break
        for old_name, new_name in found.items():
            self.columns[(old_table, old_name)] = new_name
        return found

    def is_renamed_column(self, table: str, column: str) -> bool:
        """Whether ``table.column`` (old names) was renamed in this run."""
        return (table, column) in self.columns

    def unused_hints(self) -> list[str]:
        """Hints that matched nothing (a typo, or the change is not in the models yet)."""
        unused = [f"{o}={n}" for o, n in self.hints.tables.items() if o not in self._used]
        unused += [
            f"{t}.{c}={nt}.{nc}"
            for (t, c), (nt, nc) in self.hints.columns.items()
            if f"{t}.{c}" not in self._used
        ]
        return unused

    def _confirm(self, old: str, hint: str) -> bool:
        new = hint.partition("=")[2]
        if self.ask is not None:
            return self.ask(f"Did you rename {old} to {new}?")
        self.warn(
            f"{old} disappeared and {new} appeared: as generated, the migration drops one "
            f"and adds the other, losing the data. If it is a rename, run again with "
            f"--rename {hint}."
        )
        return False


def _same_shape(old: sa.Table, new: sa.Table) -> bool:
    """What a renamed model looks like: at least half its columns kept, with compatible
    types (a prompt may then ask about the rest)."""
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    kept = old_columns.keys() & new_columns.keys()
    if 2 * len(kept) < max(len(old_columns), len(new_columns)):
        return False
    return all(compatible(old_columns[n].type, new_columns[n].type) for n in kept)


__all__ = ["RenameHints", "Renamer", "compatible", "parse_hints", "type_family"]
