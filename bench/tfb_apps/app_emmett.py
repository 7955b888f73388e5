"""Emmett, the full-stack framework closest to Kettle's pitch, written as its docs teach:
its own ORM (pyDAL models, `Database(app)` and its pipe, one transaction per request),
`@service.json`, and a Renoir template for the page, served on Granian's RSGI interface
(what `emmett serve` runs).

The ORM is synchronous: Emmett's handlers are `async def` and call it directly, as its
docs do. The driver is psycopg2, the first one Emmett's docs list for PostgreSQL;
`Database` keeps its default pool (5 connections).
"""

import os
import random
from operator import itemgetter
from urllib.parse import urlsplit

from emmett import App, request, response
from emmett.orm import Database, Field, Model
from emmett.tools import service

ADDITIONAL = "Additional fortune added at request time."

app = App(__name__)
_url = urlsplit(os.environ["DATABASE_URL"])
app.config.db.adapter = "postgres:psycopg2"
app.config.db.host = _url.hostname
app.config.db.port = _url.port or 5432
app.config.db.user = _url.username or ""
app.config.db.password = _url.password or ""
app.config.db.database = _url.path.lstrip("/")
app.config.handle_static = False


class World(Model):
    tablename = "world"
    randomnumber = Field.int()


class Fortune(Model):
    tablename = "fortune"
    message = Field.string()


db = Database(app, auto_migrate=False)
db.define_models(World, Fortune)
app.pipeline = [db.pipe]


def query_count() -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(request.query_params.queries or "1")
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def as_json(row) -> dict[str, int]:
    return {"id": row.id, "randomNumber": row.randomnumber}


@app.route("/plaintext")
async def plaintext():
    response.content_type = "text/plain"
    return "Hello, World!"


@app.route("/json")
@service.json
async def json_hello():
    return {"message": "Hello, World!"}


@app.route("/db")
@service.json
async def single_query():
    return as_json(World.get(random.randint(1, 10_000)))


@app.route("/queries")
@service.json
async def multiple_queries():
    return [as_json(World.get(random.randint(1, 10_000))) for _ in range(query_count())]


@app.route("/fortunes", template="fortunes_emmett.html")
async def fortunes():
    rows = [{"id": row.id, "message": row.message} for row in Fortune.all().select()]
    rows.append({"id": 0, "message": ADDITIONAL})
    rows.sort(key=itemgetter("message"))
    return {"fortunes": rows}


@app.route("/updates")
@service.json
async def updates():
    worlds = [World.get(random.randint(1, 10_000)) for _ in range(query_count())]
    # NOTE: written in id order, so concurrent requests lock rows in one order (no deadlock).
    for world in sorted(worlds, key=lambda row: row.id):
        world.randomnumber = random.randint(1, 10_000)
        world.save()
    return [as_json(world) for world in worlds]
