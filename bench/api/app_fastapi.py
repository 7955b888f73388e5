"""FastAPI with SQLAlchemy's asyncio ORM (asyncpg), a session per request as a dependency
and Pydantic response models, as FastAPI's docs teach (and as tfb_apps/app_fastapi.py is).

`GET /api/articles?offset=0&limit=20` lists articles by id with their authors (joined in
the same query), `GET /api/articles/{id}` answers one or a 404.
"""

import datetime as dt
import os
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import joinedload
from sqlalchemy_models import Article

engine = create_async_engine(
    os.environ["DATABASE_URL"].replace("postgresql:", "postgresql+asyncpg:")
)
new_session = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    url: str
    score: int
    created: dt.datetime
    author: AuthorOut


async def get_session():
    async with new_session() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


@app.get("/api/articles", response_model=list[ArticleOut])
async def list_articles(
    session: Session,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    query = select(Article).options(joinedload(Article.author)).order_by(Article.id)
    return (await session.scalars(query.offset(offset).limit(limit))).all()


@app.get("/api/articles/{id}", response_model=ArticleOut)
async def read_article(id: int, session: Session):
    query = select(Article).options(joinedload(Article.author)).where(Article.id == id)
    article = await session.scalar(query)
    if article is None:
        raise HTTPException(status_code=404, detail="Article not found")
    return article
