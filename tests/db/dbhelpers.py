"""Helpers the data-layer tests share: the news models' tables on a database, and running
async work on a fresh loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
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


def run_kettle(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this checkout's ``kettle`` in ``cwd`` against the database at ``url`` (no other
    ``KETTLE_*`` variable of the test run leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETTLE_")}
    return subprocess.run(
        [sys.executable, "-m", "kettle.cli", *args],
        cwd=cwd,
        env={**env, "KETTLE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
