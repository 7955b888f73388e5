"""Data migrations: revisions that read and write rows, with a progress bar per bulk step.

Start one with ``kettle db makemigrations --data -m "backfill slugs"`` and fill in its
``upgrade()``::

    import sqlalchemy as sa
    from kettle.db.migrations import data

    article = sa.table("article", sa.column("id"), sa.column("title"), sa.column("slug"))

    def upgrade() -> None:
        for rows in data.batches(sa.select(article.c.id, article.c.title)):
            data.bulk_update(article, [{"id": r.id, "slug": slugify(r.title)} for r in rows])

Everything runs on the migration's connection, inside its transaction, so a failing step
rolls its revision back (PostgreSQL and SQLite; MariaDB commits DDL as it goes). Describe
tables with ``sa.table()`` as they are at this revision rather than importing models: a new
database replays the file long after the models have moved on. ORM code works too, in
``with data.session() as session:``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.orm import Session

from kettle.db.migrations import progress
from kettle.db.migrations.errors import MigrationError


def offline() -> bool:
    """True while ``kettle db sql`` renders SQL (no rows can be read then)."""
    return context.is_offline_mode()


def connection() -> sa.Connection:
    """The migration's connection (inside its transaction)."""
    if offline():
        raise MigrationError(
            "This data migration reads rows, so `kettle db sql` cannot render it as SQL: "
            "run `kettle db migrate`, or guard the step with `if not data.offline():`."
        )
    return op.get_bind()


@contextlib.contextmanager
def session() -> Iterator[Session]:
    """An ORM session on the migration's connection; flushed when the block ends and
    committed with the revision::

        with data.session() as session:
            session.execute(sa.update(article).values(score=0))
    """
    orm = Session(bind=connection())
    try:
        yield orm
        orm.flush()
    finally:
        orm.close()


def batches(
    statement: sa.Select[Any], *, size: int = 1000, description: str = "Reading rows"
) -> Iterator[Sequence[sa.Row[Any]]]:
    """The rows of ``statement`` in lists of ``size``, with a progress bar.

    The rows are read up front, so writing to the same table inside the loop is safe on
    every database.
    """
    rows = connection().execute(statement).all()
    with progress.task(description, total=len(rows)) as advance:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            yield chunk
            advance(len(chunk))


def bulk_insert(
    table: sa.TableClause,
    rows: Iterable[Mapping[str, Any]],
    *,
    size: int = 1000,
    description: str | None = None,
) -> int:
    """Insert ``rows`` (dicts of column values) in batches; returns how many."""
    values = [dict(row) for row in rows]
    label = description or f"Inserting into {table.name}"
    _in_batches(sa.insert(table), values, size, label)
    return len(values)


def bulk_update(
    table: sa.TableClause,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: str = "id",
    size: int = 1000,
    description: str | None = None,
) -> int:
    """Update one row per dict of ``rows``, found by its ``key`` column, with the dict's
    other values; returns how many::

        data.bulk_update(article, [{"id": 1, "slug": "hello"}, {"id": 2, "slug": "bye"}])
    """
    values = [dict(row) for row in rows]
    if not values:
        return 0
    columns = [name for name in values[0] if name != key]
    statement = (
        sa.update(table)
        .where(table.c[key] == sa.bindparam("_kettle_key"))
        .values({name: sa.bindparam(f"_kettle_{name}") for name in columns})
    )
    params = [
        {"_kettle_key": row[key], **{f"_kettle_{name}": row[name] for name in columns}}
        for row in values
    ]
    _in_batches(statement, params, size, description or f"Updating {table.name}")
    return len(values)


def _in_batches(statement: Any, params: list[dict[str, Any]], size: int, label: str) -> None:
    bind = connection()
    with progress.task(label, total=len(params)) as advance:
        for start in range(0, len(params), size):
            chunk = params[start : start + size]
            bind.execute(statement, chunk)
            advance(len(chunk))


__all__ = ["batches", "bulk_insert", "bulk_update", "connection", "offline", "session"]
