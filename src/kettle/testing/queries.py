"""Counting the SQL statements a block runs: ``assert_num_queries``.

Every SQLAlchemy engine of the process is watched (the app's blocking and async engines,
and the test database's), so ``def`` and ``async def`` code, the test's own and the
app's while it serves the test client, are counted alike. Transaction control
(``SAVEPOINT``, ``RELEASE SAVEPOINT``, ``ROLLBACK TO SAVEPOINT``) is not counted: the
``db`` fixture adds savepoints around units of work that production does not have.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class Queries:
    """The statements run inside a ``count_queries`` block, in order::

    with count_queries() as queries:
        client.get("/")
    assert len(queries) <= 3, queries.report()
    """

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.statements)

    def add(self, statement: str) -> None:
        """Record ``statement`` (the listener calls this, from any thread)."""
        if statement.lstrip().upper().startswith(_CONTROL):
            return
        with self._lock:
            self.statements.append(statement)

    def report(self) -> str:
        """The statements, numbered, one per line (shortened past 500 characters)."""
        lines = []
        for number, statement in enumerate(self.statements, 1):
            text = " ".join(statement.split())
            lines.append(f"{number}. {text[:500]}{'...' if len(text) > 500 else ''}")
        return "\n".join(lines) or "(none)"


@contextlib.contextmanager
def count_queries() -> Iterator[Queries]:
    """Record the statements that run inside the block (see the module docstring)::

    with count_queries() as queries:
        Article.objects.count()
    assert len(queries) == 1
    """
    queries = Queries()

    def listener(
        connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        queries.add(statement)

    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield queries
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


@contextlib.contextmanager
def assert_num_queries(expected: int) -> Iterator[Queries]:
    """Fail unless the block runs exactly ``expected`` statements, listing those it ran::

    with assert_num_queries(2):
        response = client.get("/articles")     # the page and its author, no N+1
    """
    with count_queries() as queries:
        yield queries
    if len(queries) != expected:
        raise AssertionError(
            f"Expected {expected} SQL statement{'s' if expected != 1 else ''}, but "
            f"{len(queries)} ran:\n{queries.report()}"
        )


__all__ = ["Queries", "assert_num_queries", "count_queries"]
