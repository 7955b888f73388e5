"""Helpers the data-layer tests share: the news models' tables on a database, and running
async work on a fresh loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import sqlalchemy as sa

from kettle import App
from kettle.db import Database

T = TypeVar("T")


@contextlib.contextmanager
def news_tables(app: App, url: str) -> Iterator[Database]:
    """A Database on ``url`` with the news models' tables created, dropped afterwards."""
    import newsmodels  # noqa: F401 - registers the models' tables

    database = Database(app, url=url)
    database.drop_all()
    database.create_all()
    try:
        yield database
    finally:
        database.drop_all()
        database.dispose()


@contextlib.contextmanager
def own_tables(metadata: sa.MetaData, db: Database) -> Iterator[Database]:
    """The tables of models kept in a ``MetaData`` of their own, on ``db``, dropped after."""
    metadata.drop_all(db.sync_engine)
    metadata.create_all(db.sync_engine)
    try:
        yield db
    finally:
        metadata.drop_all(db.sync_engine)


def arun(db: Database, work: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(work())``, closing the async connections before the loop closes."""

    async def main() -> T:
        try:
            return await work()
        finally:
            await db.async_engine.dispose()

    return asyncio.run(main())
