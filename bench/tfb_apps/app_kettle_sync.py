"""Kettle with `def` handlers and the sync ORM on psycopg: what a Flask user writes.

The same models and template as app_kettle.py, but every database handler is a plain
`def` (docs/handlers.md: "`def` for a handler that calls blocking code"), so Kettle runs it
in its bounded thread pool and `kettle.db` gives it the sync unit of work on psycopg
(`postgresql://` in DATABASE_URL means psycopg for `def` code, asyncpg for `async def`).
Plaintext and JSON stay `def` as well: this is the app of someone who never writes
`async`.
"""

import random
from operator import attrgetter, itemgetter

from kettle_models import Fortune, World

from kettle import App, PlainTextResponse, render
from kettle.db import Database

app = App()
db = Database(app)

ADDITIONAL = "Additional fortune added at request time."


def query_count(queries: str) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(queries)
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def as_json(world: World) -> dict[str, int]:
    return {"id": world.id, "randomNumber": world.random_number}


@app.get("/plaintext")
def plaintext():
    return PlainTextResponse("Hello, World!")


@app.get("/json")
def json_hello():
    return {"message": "Hello, World!"}


@app.get("/db")
def single_query():
    return as_json(World.objects.get(id=random.randint(1, 10_000)))


@app.get("/queries")
def multiple_queries(queries: str = "1"):
    count = query_count(queries)
    return [as_json(World.objects.get(id=random.randint(1, 10_000))) for _ in range(count)]


@app.get("/fortunes")
def fortunes():
    rows = list(Fortune.objects.values("id", "message"))
    rows.append({"id": 0, "message": ADDITIONAL})
    rows.sort(key=itemgetter("message"))
    return render("fortunes.html", fortunes=rows)


@app.get("/updates")
def updates(queries: str = "1"):
    count = query_count(queries)
    worlds = [World.objects.get(id=random.randint(1, 10_000)) for _ in range(count)]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    # NOTE: written in id order, so concurrent requests lock rows in one order (no deadlock).
    World.objects.bulk_update(sorted(worlds, key=attrgetter("id")), ["random_number"])
    return [as_json(world) for world in worlds]
