"""``make demo`` again, days later: the seed's dates move forward, people's rows do not.

The demo runs as a newcomer runs it (``python -m news demo``, in a process of its own),
on each engine, with small counts (seedhelpers.SMALL).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seedhelpers import NEWS, database_url, execute, news, news_env, query, scalar

DAYS = 10
TOP = """
from kettle.testing import TestClient
from news.app import app
with TestClient(app) as client:
    page = client.get("/top", headers={"accept": "text/html"})
print(page.status_code, page.text.count('href="/articles/'))
"""
#: Rows of the demo's editor (a person, not a seed user), written between the two runs.
PEOPLES_ROWS = """SELECT 'article', a.id, a.created FROM article a
    JOIN auth_user u ON u.id = a.author_id WHERE u.username = 'editor'
    UNION ALL SELECT 'vote', v.id, v.created FROM article_vote v
    JOIN auth_user u ON u.id = v.user_id WHERE u.username = 'editor'
    UNION ALL SELECT 'user', id, date_joined FROM auth_user WHERE username = 'editor'
    ORDER BY 1, 2"""
SEED_ARTICLE_TIMES = """SELECT a.id, a.created FROM article a JOIN auth_user u
    ON u.id = a.author_id WHERE u.email LIKE '%@seed.kettle-news.example' ORDER BY a.id"""


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path, "clock")


def utc(value: Any) -> dt.datetime:
    """A timestamp as each engine's driver returns it (SQLite: text), naive UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def top_links(url: str) -> int:
    """How many articles /top ("this week") lists, asked now through the news app."""
    env = {**news_env(url), "KETTLE_ENV": "development"}
    done = subprocess.run(
        [sys.executable, "-c", TOP], cwd=NEWS, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status, links = done.stdout.split()[-2:]
    assert status == "200", done.stdout
    return int(links)


def test_running_the_demo_again_keeps_the_seed_current(url: str) -> None:
    seeded_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=DAYS)
    news("demo", "--no-serve", "--now", seeded_at.strftime("%Y-%m-%dT%H:%M:%S"), url=url)
    # Ten days pass. Meanwhile a person (the demo's editor) posts, votes and edits.
    editor = scalar(url, "SELECT id FROM auth_user WHERE username = 'editor'")
    execute(
        url,
        "INSERT INTO article (title, url, domain, body, author_id, created, points,"
        " comment_count, hidden, featured, locked) VALUES ('Mine', NULL, '', 'text',"
        f" {editor}, '2026-01-02 03:04:05', 1, 0, false, false, false)",
        f"INSERT INTO article_vote (article_id, user_id, created) VALUES (3, {editor},"
        " '2026-01-02 03:04:06')",
        "UPDATE article SET title = 'Edited in the admin' WHERE id = 5",
    )
    people_before = query(url, PEOPLES_ROWS)
    seed_before = query(url, SEED_ARTICLE_TIMES)

    output = news("demo", "--no-serve", url=url).stdout

    assert f"Seed data dated {DAYS} days later, to stay current." in output
    assert top_links(url) > 0  # "top this week" lists this week's articles again
    seed_after = query(url, SEED_ARTICLE_TIMES)
    assert len(seed_after) == len(seed_before) > 0
    for (id_before, before), (id_after, after) in zip(seed_before, seed_after, strict=True):
        assert id_before == id_after
        moved = utc(after) - utc(before)
        assert dt.timedelta(days=DAYS) <= moved < dt.timedelta(days=DAYS, minutes=10), id_after
    assert query(url, PEOPLES_ROWS) == people_before  # people's rows keep their times
    assert scalar(url, "SELECT title FROM article WHERE id = 5") == "Edited in the admin"
    newest_vote = scalar(url, "SELECT max(created) FROM article_vote")
    assert utc(newest_vote) <= dt.datetime.now(dt.UTC).replace(tzinfo=None)

    # Straight away once more: (next to) nothing moves.
    again = news("demo", "--no-serve", url=url).stdout
    assert "days later" not in again
