"""The API benchmark's two tables as Kettle models, declared as docs/database.md teaches.

The tables exist already (bench/api.py creates and fills them), so there is no migration.
"""

import datetime as dt

from kettle.db import Model, fields


class Author(Model):
    username: str = fields.string(max_length=150)


class Article(Model):
    title: str = fields.string(max_length=200)
    url: str = fields.string(max_length=500)
    score: int = fields.integer()
    created: dt.datetime = fields.datetime()
    author: Author = fields.foreign_key(Author, related_name="articles")
