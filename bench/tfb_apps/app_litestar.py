"""Litestar with its SQLAlchemy plugin, as its docs teach: `SQLAlchemyPlugin` with an async
config (advanced-alchemy, asyncpg) that injects a session per request as `db_session`
and commits it before the response is sent (`before_send_handler="autocommit"`), the
shared SQLAlchemy models, and a Jinja2 `Template` for the page.
"""

import os
import random
from operator import attrgetter
from pathlib import Path

from litestar import Litestar, MediaType, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.plugins.sqlalchemy import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar.response import Template
from litestar.template.config import TemplateConfig
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy_models import Fortune, World

ADDITIONAL = "Additional fortune added at request time."


def query_count(queries: str) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(queries)
    except ValueError:
        return 1
    return min(max(count, 1), 500)


async def random_world(db_session: AsyncSession) -> World:
    return await db_session.scalar(select(World).where(World.id == random.randint(1, 10_000)))


def as_json(world: World) -> dict[str, int]:
    return {"id": world.id, "randomNumber": world.random_number}


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return "Hello, World!"


@get("/json")
async def json_hello() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/db")
async def single_query(db_session: AsyncSession) -> dict[str, int]:
    return as_json(await random_world(db_session))


@get("/queries")
async def multiple_queries(db_session: AsyncSession, queries: str = "1") -> list[dict[str, int]]:
    return [as_json(await random_world(db_session)) for _ in range(query_count(queries))]


@get("/fortunes")
async def fortunes(db_session: AsyncSession) -> Template:
    rows = list(await db_session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=ADDITIONAL))
    rows.sort(key=attrgetter("message"))
    return Template(template_name="fortunes.html", context={"fortunes": rows})


@get("/updates")
async def updates(db_session: AsyncSession, queries: str = "1") -> list[dict[str, int]]:
    worlds = [await random_world(db_session) for _ in range(query_count(queries))]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    # The plugin's autocommit handler commits once the handler returns; the flush writes
    # in primary-key order, so concurrent requests do not deadlock.
    return [as_json(world) for world in worlds]


db_config = SQLAlchemyAsyncConfig(
    connection_string=os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+asyncpg:"),
    session_config=AsyncSessionConfig(expire_on_commit=False),
    before_send_handler="autocommit",
    create_all=False,
)
app = Litestar(
    route_handlers=[plaintext, json_hello, single_query, multiple_queries, fortunes, updates],
    plugins=[SQLAlchemyPlugin(config=db_config)],
    template_config=TemplateConfig(
        directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
    ),
)
