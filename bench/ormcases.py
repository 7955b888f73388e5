"""What `orm.py` compares: two queries through the raw drivers, SQLAlchemy Core and kettle.db.

*get* fetches one article by primary key, *list* the 20 newest (`ORDER BY id DESC LIMIT 20`).
The table holds ROWS articles whose content follows from their id, so every answer can be
checked against `expected()`. Core runs on Kettle's own engines, so pool, driver and
dialect settings are the ORM's; only the layer on top differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import psycopg
import sqlalchemy as sa
from ormmodels import BenchArticle

ROWS, LIST_SIZE = 10_000, 20
COLUMNS = ("id", "title", "body", "score", "created")
FIRST_CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: Every case fetches the same ids in the same order: a shuffled copy of all of them.
IDS = random.Random(20261121).sample(range(1, ROWS + 1), ROWS)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM bench_article"
SQL = {  # the raw drivers' queries: (psycopg, asyncpg)
    "get": (f"{_SELECT} WHERE id = %s", f"{_SELECT} WHERE id = $1"),
    "list": (f"{_SELECT} ORDER BY id DESC LIMIT {LIST_SIZE}",) * 2,
}


@dataclass(frozen=True)
class Impl:
    """One way to run both queries: `ops[query](handle, pk)`, where `unit()` (a sync or async
    context manager) opens the handle: a cursor, connection or unit of work held across a
    batch, or nothing for per-request rows, whose ops open and close their own."""

    name: str
    mode: str  # "sync" or "async"
    unit: Callable[[], Any]
    ops: Mapping[str, Callable[[Any, int], Any]]


def article(pk: int) -> tuple[Any, ...]:
    """The row with id PK, in COLUMNS order."""
    body = f"Paragraph {pk} of the benchmark data. " * (1 + pk % 12)
    return pk, f"Article {pk}", body, pk * 7 % 101, FIRST_CREATED + dt.timedelta(minutes=pk)


def expected(query: str, pk: int) -> list[tuple[Any, ...]]:
    pks = [pk] if query == "get" else range(ROWS, ROWS - LIST_SIZE, -1)
    return [article(n) for n in pks]


def normal(result: Any) -> list[tuple[Any, ...]]:
    """The rows of any implementation's answer as tuples in COLUMNS order."""
    rows = []
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, BenchArticle):
            rows.append(tuple(getattr(item, c) for c in COLUMNS))
        elif isinstance(item, tuple):  # psycopg: already in COLUMNS order
            rows.append(item)
        else:  # SQLAlchemy Row, asyncpg Record
            mapping = item._mapping if hasattr(item, "_mapping") else item
            rows.append(tuple(mapping[c] for c in COLUMNS))
    return rows


def fill(engine: sa.Engine) -> None:
    """(Re)create bench_article with its ROWS rows."""
    table = BenchArticle.metadata.tables["bench_article"]
    with engine.begin() as conn:
        table.drop(conn, checkfirst=True)
        table.create(conn)
        conn.execute(
            table.insert(),
            [dict(zip(COLUMNS, article(n), strict=True)) for n in range(1, ROWS + 1)],
        )
        conn.exec_driver_sql("ANALYZE bench_article")


def implementations(db: Any) -> list[Impl]:
    """Raw driver, Core and ORM holding a connection, then Core and ORM per request."""
    table, dsn = BenchArticle.metadata.tables["bench_article"], str(db.url)

    def get_stmt(pk: int) -> sa.Select[Any]:
        return sa.select(table).where(table.c.id == pk)

    def list_stmt() -> sa.Select[Any]:
        return sa.select(table).order_by(table.c.id.desc()).limit(LIST_SIZE)

    def newest() -> Any:
        return BenchArticle.objects.order_by("-id")[:LIST_SIZE]

    @contextlib.contextmanager
    def psycopg_cursor() -> Any:
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            yield cursor

    def psycopg_get(cursor: Any, pk: int) -> Any:
        cursor.execute(SQL["get"][0], (pk,))
        return cursor.fetchone()

    def psycopg_list(cursor: Any, pk: int) -> Any:
        cursor.execute(SQL["list"][0])
        return cursor.fetchall()

    @contextlib.asynccontextmanager
    async def asyncpg_connection() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()

    async def core_aget(conn: Any, pk: int) -> Any:
        return (await conn.execute(get_stmt(pk))).first()

    async def core_alist(conn: Any, pk: int) -> Any:
        return (await conn.execute(list_stmt())).all()

    async def orm_aget(session: Any, pk: int) -> Any:
        return await BenchArticle.objects.aget(id=pk)

    async def orm_alist(session: Any, pk: int) -> Any:
        return await newest().alist()

    core = {
        "get": lambda conn, pk: conn.execute(get_stmt(pk)).first(),
        "list": lambda conn, pk: conn.execute(list_stmt()).all(),
    }
    orm = {
        "get": lambda session, pk: BenchArticle.objects.get(id=pk),
        "list": lambda session, pk: list(newest()),
    }
    acore, aorm = {"get": core_aget, "list": core_alist}, {"get": orm_aget, "list": orm_alist}
    asyncpg_ops = {
        "get": lambda conn, pk: conn.fetchrow(SQL["get"][1], pk),
        "list": lambda conn, pk: conn.fetch(SQL["list"][1]),
    }
    nothing = contextlib.nullcontext  # also an async context manager
    sync_engine, async_engine = db.sync_engine, db.async_engine
    return [
        Impl("psycopg", "sync", psycopg_cursor, {"get": psycopg_get, "list": psycopg_list}),
        Impl("SQLAlchemy Core", "sync", sync_engine.connect, core),
        Impl("Kettle ORM", "sync", db.session, orm),
        Impl("SQLAlchemy Core, per request", "sync", nothing, _each(sync_engine.begin, core)),
        Impl("Kettle ORM, per request", "sync", nothing, _each(db.session, orm)),
        Impl("asyncpg", "async", asyncpg_connection, asyncpg_ops),
        Impl("SQLAlchemy Core", "async", async_engine.connect, acore),
        Impl("Kettle ORM", "async", db.async_session, aorm),
        Impl("SQLAlchemy Core, per request", "async", nothing, _aeach(async_engine.begin, acore)),
        Impl("Kettle ORM, per request", "async", nothing, _aeach(db.async_session, aorm)),
    ]  # fmt: skip


def _each(unit: Callable[[], Any], ops: dict[str, Any]) -> dict[str, Any]:
    """OPS, each in a unit of its own: open, query, commit, close (what a request does)."""

    def per_request(op: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        def run(_: Any, pk: int) -> Any:
            with unit() as handle:
                return op(handle, pk)

        return run

    return {query: per_request(op) for query, op in ops.items()}


def _aeach(unit: Callable[[], Any], ops: dict[str, Any]) -> dict[str, Any]:
    """`_each` for async units and ops."""

    def per_request(op: Callable[[Any, int], Any]) -> Callable[[Any, int], Any]:
        async def run(_: Any, pk: int) -> Any:
            async with unit() as handle:
                return await op(handle, pk)

        return run

    return {query: per_request(op) for query, op in ops.items()}
