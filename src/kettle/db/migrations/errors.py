"""The one error of the migration commands."""

from __future__ import annotations


class MigrationError(Exception):
    """A migration command cannot go on; the message says what is wrong and what to do::

    raise MigrationError("No migrations yet: run `kettle db makemigrations` first.")
    """


__all__ = ["MigrationError"]
