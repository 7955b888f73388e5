"""Kettle's fastest documented path: `async def` handlers and an asyncpg pool opened in
the app's lifespan and kept on `app.state` (docs/middleware-and-hooks.md); no ORM.
"""

import contextlib
import os
import random
from operator import itemgetter

import asyncpg

from kettle import App, PlainTextResponse, Request, render

app = App()

ADDITIONAL = "Additional fortune added at request time."
READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $2 WHERE id = $1"


@app.lifespan
@contextlib.asynccontextmanager
async def database(app):
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
    yield
    await app.state.pool.close()


def query_count(queries: str) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(queries)
    except ValueError:
        return 1
    return min(max(count, 1), 500)


@app.get("/plaintext")
async def plaintext():
    return PlainTextResponse("Hello, World!")


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}


@app.get("/db")
async def single_query(request: Request):
    async with request.app.state.pool.acquire() as conn:
        pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
    return {"id": pk, "randomNumber": number}


@app.get("/queries")
async def multiple_queries(request: Request, queries: str = "1"):
    worlds = []
    async with request.app.state.pool.acquire() as conn:
        for _ in range(query_count(queries)):
            pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
            worlds.append({"id": pk, "randomNumber": number})
    return worlds


@app.get("/fortunes")
async def fortunes(request: Request):
    async with request.app.state.pool.acquire() as conn:
        rows = [tuple(row) for row in await conn.fetch("SELECT id, message FROM fortune")]
    rows.append((0, ADDITIONAL))
    rows.sort(key=itemgetter(1))
    return render("fortunes.html", fortunes=[{"id": pk, "message": text} for pk, text in rows])


@app.get("/updates")
async def updates(request: Request, queries: str = "1"):
    worlds = []
    async with request.app.state.pool.acquire() as conn:
        for _ in range(query_count(queries)):
            pk, _number = await conn.fetchrow(READ, random.randint(1, 10_000))
            worlds.append({"id": pk, "randomNumber": random.randint(1, 10_000)})
        # NOTE: in id order, so concurrent requests lock rows in one order (no deadlock).
        changes = sorted((w["id"], w["randomNumber"]) for w in worlds)
        await conn.executemany(WRITE, changes)
    return worlds
