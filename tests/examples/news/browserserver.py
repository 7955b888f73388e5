"""The news site served for the browser tests: the demo's database, then a real server.

``python -m news demo --no-serve`` prepares a temporary SQLite file as a newcomer would
(migrations, roles, the demo admin and editor, seed data with small counts). The seed
leads up to the real clock (no ``--now``): the server's "top this week" and the ranking
read the real clock too, so the lists have content. Then uvicorn serves ``news.app:app``
on a free port in development mode (as the demo does), with the rate limits raised and
shorter pages (so every list has pages)::

    with news_server(tmp_path) as server:
        server.url                    # http://127.0.0.1:<port>
        server.accounts["editor"]     # ("editor", "kettle-demo-editor"), as the demo printed
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from seedhelpers import NEWS, SMALL, news

from servers import running_server

#: Articles per list page: the seed's 200 articles make 20 pages, and /top pages too.
PER_PAGE = 10
#: What the server gets besides the database: limits that never get in the way, and
#: development mode as ``python -m news demo`` serves it (strict templates: an undefined
#: variable is an error; a failure's debug page shows in the test's page snapshot).
SERVER_ENV = {
    "KETTLE_ENV": "development",
    # The development key the demo sealed its accounts' authenticator keys with (kept
    # for the project, as when the demo serves), not the test servers' fixed one.
    "KETTLE_SECRET_KEY": "",
    "KETTLE_NEWS_ARTICLE_RATE": "1000/minute",
    "KETTLE_NEWS_COMMENT_RATE": "1000/minute",
    "KETTLE_NEWS_VOTE_RATE": "1000/minute",
    "KETTLE_NEWS_TOKEN_RATE": "1000/minute",
    "KETTLE_NEWS_SIGNUPS_PER_HOUR": "1000",
    "KETTLE_NEWS_PER_PAGE": str(PER_PAGE),
    "KETTLE_NEWS_TOP_MIN_VOTES": "5",
}
# "  editor  editor / kettle-demo-editor  (created)"
_ACCOUNT = re.compile(r"^\s*(\w+)\s+(\S+) / (\S+)\s+\(", re.MULTILINE)


@dataclass(frozen=True)
class NewsServer:
    """Where the site answers, and the demo's sign-ins by role (username, password)."""

    url: str
    accounts: dict[str, tuple[str, str]]


def demo_accounts(output: str) -> dict[str, tuple[str, str]]:
    """The sign-ins ``python -m news demo`` printed, by role."""
    found = {role: (username, password) for role, username, password in _ACCOUNT.findall(output)}
    assert {"admin", "editor"} <= found.keys(), f"no demo accounts in the output:\n{output}"
    return found


@contextmanager
def news_server(root: Path) -> Iterator[NewsServer]:
    """Prepare a database in ``root`` with the demo command, then serve the site on it."""
    url = f"sqlite:///{root / 'news.sqlite3'}"
    output = news("demo", "--no-serve", url=url, counts=SMALL).stdout
    env = {**SERVER_ENV, "DATABASE_URL": url}
    with running_server(
        "news.app:app", server="uvicorn", env=env, cwd=NEWS, pythonpath=(NEWS,)
    ) as base:
        yield NewsServer(base, demo_accounts(output))
