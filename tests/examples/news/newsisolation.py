"""Whether the news site can be imported in this test process (see ``conftest.py``)."""

from __future__ import annotations

import sys

#: The news site's own tables.
TABLES = ("article", "article_vote", "comment", "comment_vote")


def clashing_tables() -> list[str]:
    """Tables of the news site that other models in this process declared already."""
    if "news.models" in sys.modules:
        return []
    from kettle.db import Model

    return [name for name in TABLES if name in Model.metadata.tables]
