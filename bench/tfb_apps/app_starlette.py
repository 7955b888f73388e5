"""Starlette with an asyncpg pool opened in its lifespan, Jinja2 templates for the page."""

import contextlib
import os
import random
from operator import itemgetter
from pathlib import Path

import asyncpg
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

ADDITIONAL = "Additional fortune added at request time."
READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $2 WHERE id = $1"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def query_count(request) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(request.query_params.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


async def plaintext(request):
    return PlainTextResponse("Hello, World!")


async def json_hello(request):
    return JSONResponse({"message": "Hello, World!"})


async def single_query(request):
    async with request.state.pool.acquire() as conn:
        pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
    return JSONResponse({"id": pk, "randomNumber": number})


async def multiple_queries(request):
    worlds = []
    async with request.state.pool.acquire() as conn:
        for _ in range(query_count(request)):
            pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
            worlds.append({"id": pk, "randomNumber": number})
    return JSONResponse(worlds)


async def fortunes(request):
    async with request.state.pool.acquire() as conn:
        rows = [tuple(row) for row in await conn.fetch("SELECT id, message FROM fortune")]
    rows.append((0, ADDITIONAL))
    rows.sort(key=itemgetter(1))
    context = {"fortunes": [{"id": pk, "message": text} for pk, text in rows]}
    return templates.TemplateResponse(request, "fortunes.html", context)


async def updates(request):
    worlds = []
    async with request.state.pool.acquire() as conn:
        for _ in range(query_count(request)):
            pk, _number = await conn.fetchrow(READ, random.randint(1, 10_000))
            worlds.append({"id": pk, "randomNumber": random.randint(1, 10_000)})
        # NOTE: in id order, so concurrent requests lock rows in one order (no deadlock).
        await conn.executemany(WRITE, sorted((w["id"], w["randomNumber"]) for w in worlds))
    return JSONResponse(worlds)


@contextlib.asynccontextmanager
async def lifespan(app):
    async with asyncpg.create_pool(os.environ["DATABASE_URL"]) as pool:
        yield {"pool": pool}


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json_hello),
        Route("/db", single_query),
        Route("/queries", multiple_queries),
        Route("/fortunes", fortunes),
        Route("/updates", updates),
    ],
    lifespan=lifespan,
)
