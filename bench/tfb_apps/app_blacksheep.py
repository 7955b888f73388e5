"""BlackSheep as its docs teach: an asyncpg pool made when the application starts and
registered in its dependency-injection container (handlers ask for it by type), query
parameters bound from the handlers' signatures, and `view()` with BlackSheep's default
Jinja2 renderer for the page.

BlackSheep's renderer adds `.jinja` to template names unless APP_JINJA_EXTENSION says
otherwise; tfb_specs.py sets it to `.html` so every app shares templates/fortunes.html.
"""

import os
import random
from operator import itemgetter
from pathlib import Path

import asyncpg
from blacksheep import Application, get, json, text
from blacksheep.server.rendering.jinja2 import JinjaRenderer
from blacksheep.server.responses import view
from blacksheep.settings.html import html_settings
from jinja2 import FileSystemLoader

ADDITIONAL = "Additional fortune added at request time."
READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $2 WHERE id = $1"

app = Application()
html_settings.use(JinjaRenderer(FileSystemLoader(Path(__file__).parent / "templates")))


@app.on_start
async def create_pool(application: Application) -> None:
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
    application.services.add_instance(pool, asyncpg.Pool)


@app.on_stop
async def close_pool(application: Application) -> None:
    await application.services.resolve(asyncpg.Pool).close()


def query_count(queries: str) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(queries)
    except ValueError:
        return 1
    return min(max(count, 1), 500)


async def read_worlds(conn: asyncpg.Connection, count: int) -> list[dict[str, int]]:
    worlds = []
    for _ in range(count):
        pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
        worlds.append({"id": pk, "randomNumber": number})
    return worlds


@get("/plaintext")
async def plaintext():
    return text("Hello, World!")


@get("/json")
async def json_hello():
    return json({"message": "Hello, World!"})


@get("/db")
async def single_query(pool: asyncpg.Pool):
    async with pool.acquire() as conn:
        [world] = await read_worlds(conn, 1)
    return json(world)


@get("/queries")
async def multiple_queries(pool: asyncpg.Pool, queries: str = "1"):
    async with pool.acquire() as conn:
        return json(await read_worlds(conn, query_count(queries)))


@get("/fortunes")
async def fortunes(pool: asyncpg.Pool):
    async with pool.acquire() as conn:
        rows = [dict(row) for row in await conn.fetch("SELECT id, message FROM fortune")]
    rows.append({"id": 0, "message": ADDITIONAL})
    rows.sort(key=itemgetter("message"))
    return view("fortunes", fortunes=rows)


@get("/updates")
async def updates(pool: asyncpg.Pool, queries: str = "1"):
    async with pool.acquire() as conn:
        worlds = await read_worlds(conn, query_count(queries))
        for world in worlds:
            world["randomNumber"] = random.randint(1, 10_000)
        # NOTE: in id order, so concurrent requests lock rows in one order (no deadlock).
        await conn.executemany(WRITE, sorted((w["id"], w["randomNumber"]) for w in worlds))
    return json(worlds)
