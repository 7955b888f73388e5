"""Flask with SQLAlchemy's ORM (psycopg), a scoped session removed when each request ends
(Flask's "SQLAlchemy in Flask" pattern), and a Jinja2 template for the page."""

import os
import random
from operator import attrgetter

from flask import Flask, render_template, request
from sqlalchemy import create_engine, select
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlalchemy_models import Fortune, World

ADDITIONAL = "Additional fortune added at request time."
engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+psycopg:"))
db_session = scoped_session(sessionmaker(engine, expire_on_commit=False))
app = Flask(__name__)


@app.teardown_appcontext
def remove_session(exception=None):
    db_session.remove()


def query_count() -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(request.args.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def random_world() -> World:
    return db_session.scalar(select(World).where(World.id == random.randint(1, 10_000)))


@app.get("/plaintext")
def plaintext():
    return app.response_class("Hello, World!", mimetype="text/plain")


@app.get("/json")
def json_hello():
    return {"message": "Hello, World!"}


@app.get("/db")
def single_query():
    world = random_world()
    return {"id": world.id, "randomNumber": world.random_number}


@app.get("/queries")
def multiple_queries():
    worlds = [random_world() for _ in range(query_count())]
    return [{"id": w.id, "randomNumber": w.random_number} for w in worlds]


@app.get("/fortunes")
def fortunes():
    rows = list(db_session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=ADDITIONAL))
    rows.sort(key=attrgetter("message"))
    return render_template("fortunes.html", fortunes=rows)


@app.get("/updates")
def updates():
    worlds = [random_world() for _ in range(query_count())]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    db_session.commit()  # the flush writes in primary-key order: no deadlocks
    return [{"id": w.id, "randomNumber": w.random_number} for w in worlds]
