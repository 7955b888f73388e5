"""FastAPI with SQLAlchemy's asyncio ORM (asyncpg), a session per request as a dependency,
and Jinja2Templates for the page, as FastAPI's docs teach."""

import os
import random
from operator import attrgetter
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy_models import Fortune, World

ADDITIONAL = "Additional fortune added at request time."
engine = create_async_engine(
    os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+asyncpg:")
)
new_session = async_sessionmaker(engine, expire_on_commit=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
app = FastAPI()


async def get_session():
    async with new_session() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def query_count(queries: str) -> int:
    """The `queries` parameter, clamped to 1..500; anything not a number counts as 1."""
    try:
        count = int(queries)
    except ValueError:
        return 1
    return min(max(count, 1), 500)


async def random_world(session: AsyncSession) -> World:
    return await session.scalar(select(World).where(World.id == random.randint(1, 10_000)))


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return "Hello, World!"


@app.get("/json")
async def json_hello():
    return {"message": "Hello, World!"}


@app.get("/db")
async def single_query(session: Session):
    world = await random_world(session)
    return {"id": world.id, "randomNumber": world.random_number}


@app.get("/queries")
async def multiple_queries(session: Session, queries: str = "1"):
    worlds = [await random_world(session) for _ in range(query_count(queries))]
    return [{"id": w.id, "randomNumber": w.random_number} for w in worlds]


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request, session: Session):
    rows = list(await session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=ADDITIONAL))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})


@app.get("/updates")
async def updates(session: Session, queries: str = "1"):
    worlds = [await random_world(session) for _ in range(query_count(queries))]
    for world in worlds:
        world.random_number = random.randint(1, 10_000)
    await session.commit()  # the flush writes in primary-key order: no deadlocks
    return [{"id": w.id, "randomNumber": w.random_number} for w in worlds]
