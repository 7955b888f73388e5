"""Kettle, written the way its docs teach: kettle.db models, a Jinja2 template through
`render()`, and `async def` handlers throughout, since none of them calls blocking code
(docs/handlers.md: "`async def` for a handler that never blocks: it only computes,
builds JSON, renders a template, or awaits async I/O"; the database calls are the async
ORM's `aget`, `values(...).alist()` and `abulk_update`).

`Database(app)` reads DATABASE_URL and gives every request its unit of work.
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
async def plaintext():
    return PlainTextResponse("Hello, World!")


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}


@app.get("/db")
async def single_query():
    world = await World.objects.aget(id=random.randint(1, 10_000))
    return as_json(world)


@app.get("/queries")
async def multiple_queries(queries: str = "1"):
    count = query_count(queries)
    worlds = [await World.objects.aget(id=random.randint(1, 10_000)) for _ in range(count)]
    return [as_json(world) for world in worlds]


@app.get("/fortunes")
async def fortunes():
    # The page only shows what it reads, so values() skips building objects
    # (docs/database.md); the template's `fortune.message` reads a dict's key too.
    rows = await Fortune.objects.values("id", "message").alist()
    rows.append({"id": 0, "message": ADDITIONAL})
    rows.sort(key=itemgetter("message"))
    return render("fortunes.html", fortunes=rows)


@app.get("/updates")
async def updates(queries: str = "1"):
    count = query_count(queries)
    worlds = [await World.objects.aget(id=random.randint(1, 10_000)) for _ in range(count)]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    # NOTE: written in id order, so concurrent requests lock rows in one order (no deadlock).
    await World.objects.abulk_update(sorted(worlds, key=attrgetter("id")), ["random_number"])
    return [as_json(world) for world in worlds]
