"""The model `orm.py` times: a small article, declared the way Kettle's docs teach.

The class is `BenchArticle` (table `bench_article`), not `Article`: Kettle models share one
registry, and the test suite's own `Article` (tests/db/newsmodels.py) is the target of
relations by name, so a second `Article` in the same process would make them ambiguous.
"""

from __future__ import annotations

import datetime as dt

from kettle.db import Model, fields


class BenchArticle(Model):
    title: str = fields.string(max_length=200)
    body: str = fields.text(default="")
    score: int = fields.integer(default=0)
    created: dt.datetime = fields.datetime(auto_now_add=True)

    class Meta:
        table_name = "bench_article"
