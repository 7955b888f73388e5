"""The models the admin tests share: a small magazine (writers, posts, remarks, shelves).

Class and table names differ from the data layer's news models and from kettle.auth's,
so every test module can import them in one process.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from kettle.db import Model, fields
from kettle.db.fields import FieldValidationError


class Status(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


def no_spam(value: object) -> None:
    if isinstance(value, str) and "spam" in value.lower():
        raise FieldValidationError("Titles may not mention spam.")


class Writer(Model):
    name: str = fields.string(max_length=80, unique=True)
    email: str | None = fields.email(null=True)
    active: bool = fields.boolean(default=True)

    def __str__(self) -> str:
        return self.name


class Section(Model):
    title: str = fields.string(max_length=60)


class Label(Model):
    name: str = fields.string(max_length=30, unique=True)


class Post(Model):
    title: str = fields.string(max_length=120, validators=[no_spam])
    url: str | None = fields.url(null=True)
    body: str = fields.text(default="", help_text="Plain text.")
    status: Status = fields.enum(Status, default=Status.DRAFT)
    featured: bool = fields.boolean()
    score: int = fields.integer(default=0)
    price: Decimal | None = fields.decimal(6, 2, null=True)
    published: dt.date | None = fields.date(null=True)
    created: dt.datetime = fields.datetime(auto_now_add=True)
    secret: str = fields.string(max_length=40, default="", editable=False)
    writer: Writer = fields.foreign_key(Writer, related_name="posts")
    section: Section | None = fields.foreign_key(
        Section, null=True, on_delete=fields.SET_NULL, related_name="posts"
    )
    labels: list[Label] = fields.many_to_many(Label, related_name="posts")

    class Meta:
        ordering = ["-id"]
        indexes = ["created"]


class Remark(Model):
    post: Post = fields.foreign_key(Post, related_name="remarks")
    text: str = fields.string(max_length=200)
    rating: int = fields.integer(default=3, choices=[(1, "poor"), (3, "fine"), (5, "great")])


class Reply(Model):
    remark: Remark = fields.foreign_key(Remark, related_name="replies")
    text: str = fields.string(max_length=100)


class Shelf(Model):
    name: str = fields.string(max_length=50)

    class Meta:
        verbose_name_plural = "shelves"


class ShelfItem(Model):
    shelf: Shelf = fields.foreign_key(Shelf, related_name="items")
    post: Post = fields.foreign_key(Post, related_name="shelf_items", on_delete=fields.PROTECT)
