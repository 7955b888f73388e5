"""The models the resource tests publish: posts by kettle.auth users, with remarks."""

from __future__ import annotations

import datetime as dt
import enum

from kettle.auth import User
from kettle.db import Model, fields


class Stage(enum.Enum):
    DRAFT = "draft"
    LIVE = "live"


class Post(Model):
    title: str = fields.string(max_length=120)
    body: str = fields.text(default="")
    score: int = fields.integer(default=0)
    stage: Stage = fields.enum(Stage, default=Stage.DRAFT)
    link: str | None = fields.url(null=True)
    created: dt.datetime = fields.datetime(auto_now_add=True)
    author: User = fields.foreign_key(User, related_name="res_posts")

    class Meta:
        table_name = "res_post"


class Remark(Model):
    post: Post = fields.foreign_key(Post, related_name="remarks")
    text: str = fields.string(max_length=200)

    class Meta:
        table_name = "res_remark"


class Pin(Model):
    """A label that may point at a post (a to-one relation that can be missing)."""

    label: str = fields.string(max_length=40)
    post: Post | None = fields.foreign_key(Post, null=True, related_name="pins")

    class Meta:
        table_name = "res_pin"
