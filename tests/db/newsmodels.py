"""The models the data-layer tests share: a small news site."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from kettle.db import Model, fields


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class User(Model):
    username: str = fields.string(max_length=50, unique=True)
    email: str | None = fields.email(null=True)
    joined: dt.datetime = fields.datetime(auto_now_add=True)
    is_editor: bool = fields.boolean()


class Profile(Model):
    user: User = fields.one_to_one(User, related_name="profile")
    bio: str = fields.text(default="")


class Tag(Model):
    name: str = fields.string(max_length=30, unique=True)


class Article(Model):
    title: str = fields.string(max_length=200)
    url: str | None = fields.url(null=True)
    body: str = fields.text(default="")
    status: Status = fields.enum(Status, default=Status.PUBLISHED)
    score: int = fields.integer(default=0)
    rating: Decimal | None = fields.decimal(5, 2, null=True)
    created: dt.datetime = fields.datetime(auto_now_add=True)
    updated: dt.datetime = fields.datetime(auto_now=True)
    author: User = fields.foreign_key(User, related_name="articles")
    tags: list[Tag] = fields.many_to_many(Tag, related_name="articles")

    class Meta:
        ordering = ["-id"]
        indexes = [("author_id", "-created")]


class Vote(Model):
    article: Article = fields.foreign_key(Article, related_name="votes")
    user: User = fields.foreign_key(User, related_name="votes")
    value: int = fields.integer(default=1, choices=[(1, "up"), (-1, "down")])


class Comment(Model):
    article: Article = fields.foreign_key(Article, related_name="comments")
    author: User | None = fields.foreign_key(
        User, related_name="comments", null=True, on_delete=fields.SET_NULL
    )
    parent: Comment | None = fields.foreign_key(
        "Comment", related_name="replies", null=True, on_delete=fields.CASCADE
    )
    text: str = fields.text()


class Collection(Model):
    """Articles gathered by an editor, through a model that carries a position."""

    name: str = fields.string(max_length=100)
    articles: list[Article] = fields.many_to_many(
        Article, through="CollectionEntry", related_name="collections"
    )


class CollectionEntry(Model):
    collection: Collection = fields.foreign_key(Collection, related_name="entries")
    article: Article = fields.foreign_key(Article, related_name="entries", on_delete=fields.PROTECT)
    position: int = fields.integer(default=0)
