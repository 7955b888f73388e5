"""The ceiling: a bare ASGI callable with an asyncpg pool, no framework.

It still does each test's real work per request (serialises JSON, queries, escapes and
joins the fortunes page), so a framework's ratio to it is the share of the server's
throughput that the framework keeps. The page is built with `html.escape`, not a template
engine: the cheapest correct page.
"""

import json
import os
import random
from html import escape

import asyncpg

ADDITIONAL = "Additional fortune added at request time."
READ = "SELECT id, randomnumber FROM world WHERE id = $1"
WRITE = "UPDATE world SET randomnumber = $2 WHERE id = $1"
PAGE_HEAD = (
    "<!DOCTYPE html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n<table>\n"
    "<tr><th>id</th><th>message</th></tr>\n"
)
PAGE_TAIL = "</table>\n</body>\n</html>\n"
TEXT = b"text/plain; charset=utf-8"
JSON = b"application/json"
HTML = b"text/html; charset=utf-8"
pool: asyncpg.Pool | None = None


def query_count(query_string: bytes) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"queries":
            try:
                return min(max(int(value), 1), 500)
            except ValueError:
                return 1
    return 1


async def respond(send, body: bytes, content_type: bytes, status: int = 200) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_worlds(conn, count: int) -> list[dict[str, int]]:
    worlds = []
    for _ in range(count):
        pk, number = await conn.fetchrow(READ, random.randint(1, 10_000))
        worlds.append({"id": pk, "randomNumber": number})
    return worlds


async def http(scope, send) -> None:
    path = scope["path"]
    if path == "/plaintext":
        return await respond(send, b"Hello, World!", TEXT)
    if path == "/json":
        return await respond(send, json.dumps({"message": "Hello, World!"}).encode(), JSON)
    if path == "/db":
        async with pool.acquire() as conn:
            [world] = await read_worlds(conn, 1)
        return await respond(send, json.dumps(world).encode(), JSON)
    if path == "/queries":
        async with pool.acquire() as conn:
            worlds = await read_worlds(conn, query_count(scope["query_string"]))
        return await respond(send, json.dumps(worlds).encode(), JSON)
    if path == "/fortunes":
        async with pool.acquire() as conn:
            rows = [tuple(row) for row in await conn.fetch("SELECT id, message FROM fortune")]
        rows.append((0, ADDITIONAL))
        rows.sort(key=lambda row: row[1])
        cells = "".join(f"<tr><td>{pk}</td><td>{escape(text)}</td></tr>\n" for pk, text in rows)
        return await respond(send, (PAGE_HEAD + cells + PAGE_TAIL).encode(), HTML)
    if path == "/updates":
        async with pool.acquire() as conn:
            worlds = await read_worlds(conn, query_count(scope["query_string"]))
            for world in worlds:
                world["randomNumber"] = random.randint(1, 10_000)
            # NOTE: in id order, so concurrent requests lock rows in one order (no deadlock).
            await conn.executemany(WRITE, sorted((w["id"], w["randomNumber"]) for w in worlds))
        return await respond(send, json.dumps(worlds).encode(), JSON)
    await respond(send, b"Not Found", TEXT, 404)


async def app(scope, receive, send):
    global pool
    if scope["type"] == "http":
        return await http(scope, send)
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
