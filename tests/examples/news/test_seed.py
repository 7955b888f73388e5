"""The news site's seed data: realistic, reproducible, consistent, and safe to run again.

The rows are checked twice: as ``news.demo_rows.generate`` makes them (at the demo's full
size, in this process) and as ``python -m news demo`` writes them to SQLite and PostgreSQL
(small counts, in a process of its own; see seedhelpers).
"""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from seedhelpers import (
    NEWS,
    NOW,
    SMALL,
    database_url,
    demo,
    dump,
    execute,
    news,
    news_env,
    query,
    scalar,
)

from kettle.auth.usernames import username_key

SEED_USERS = "SELECT count(*) FROM auth_user WHERE email LIKE '%@seed.kettle-news.example'"
WHEN = dt.datetime.fromisoformat(NOW).replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo_rows() -> ModuleType:
    sys.path.insert(0, str(NEWS))
    from news import demo_rows

    return demo_rows


@pytest.fixture(scope="module")
def full(demo_rows: ModuleType) -> Any:
    """The demo's rows at full size (about a second to make)."""
    ids = dict.fromkeys(("auth_user", "article", "article_vote", "comment", "comment_vote"), 1)
    return demo_rows.generate(demo_rows.Counts(), 1865, WHEN, ids)


# --- the rows as generated -------------------------------------------------------------------
def test_same_seed_gives_the_same_rows(demo_rows: ModuleType) -> None:
    counts = demo_rows.Counts(**SMALL)
    ids = dict.fromkeys(("auth_user", "article", "article_vote", "comment", "comment_vote"), 7)
    first = demo_rows.generate(counts, 1865, WHEN, ids)
    assert first == demo_rows.generate(counts, 1865, WHEN, ids)
    other = demo_rows.generate(counts, 1866, WHEN, ids)
    assert [a["title"] for a in other.articles] != [a["title"] for a in first.articles]
    assert first.articles[0]["id"] == 7
    taken = {first.users[0]["username"]}  # somebody signed up with it before the seed
    again = demo_rows.generate(counts, 1865, WHEN, ids, taken)
    assert taken.isdisjoint(user["username"] for user in again.users)
    assert len(again.users) == SMALL["users"]


def test_full_size_counts_and_counters(full: Any) -> None:
    rows = full
    assert [len(rows.users), len(rows.articles), len(rows.comments)] == [1_000, 10_000, 30_000]
    assert (len(rows.votes), len(rows.comment_votes)) == (100_000, 20_000)
    votes = Counter(v["article_id"] for v in rows.votes)
    assert all(a["points"] == votes[a["id"]] for a in rows.articles)
    alive = Counter(c["article_id"] for c in rows.comments if not c["deleted"])
    assert all(a["comment_count"] == alive[a["id"]] for a in rows.articles)
    comment_votes = Counter(v["comment_id"] for v in rows.comment_votes)
    assert all(c["points"] == comment_votes[c["id"]] for c in rows.comments)
    assert len({(v["article_id"], v["user_id"]) for v in rows.votes}) == len(rows.votes)
    pairs = {(v["comment_id"], v["user_id"]) for v in rows.comment_votes}
    assert len(pairs) == len(rows.comment_votes)
    assert len({u["username"] for u in rows.users}) == 1_000


def test_full_size_looks_like_a_news_site(full: Any) -> None:
    rows = full
    points = [a["points"] for a in rows.articles]
    assert max(points) >= 300  # a few hits...
    assert statistics.median(points) <= 10  # ...and a long tail
    assert sum(p >= 100 for p in points) >= 20
    week = [a for a in rows.articles if WHEN - a["created"] <= dt.timedelta(days=7)]
    assert sum(a["points"] >= 10 for a in week) >= 100  # "top this week" has content
    oldest_week = [a for a in rows.articles if WHEN - a["created"] > dt.timedelta(days=53)]
    assert len(week) > 3 * len(oldest_week) > 0  # more activity lately
    assert all(WHEN - dt.timedelta(days=60) <= a["created"] <= WHEN for a in rows.articles)
    assert sum(a["featured"] for a in rows.articles) == 2
    text_posts = [a for a in rows.articles if a["url"] is None]
    assert 0.1 < len(text_posts) / len(rows.articles) < 0.3
    assert all(a["body"] and not a["domain"] for a in text_posts)
    links = [a for a in rows.articles if a["url"] is not None]
    assert all(a["url"].startswith(f"https://{a['domain']}/") for a in links)
    words = " ".join(a["title"] + " " + a["body"] for a in rows.articles[:500]).lower()
    assert "lorem" not in words
    assert " a old" not in words  # "an old-school ..."
    assert len({a["title"] for a in rows.articles}) > 9_900


def test_full_size_threads(full: Any) -> None:
    comments = {c["id"]: c for c in full.comments}
    replies = [c for c in comments.values() if c["parent_id"] is not None]
    assert 0.35 < len(replies) / len(comments) < 0.45
    for reply in replies:
        parent = comments[reply["parent_id"]]
        assert parent["id"] < reply["id"]
        assert parent["article_id"] == reply["article_id"]
        assert parent["created"] <= reply["created"]
    deleted = sum(c["deleted"] for c in comments.values())
    assert 0 < deleted < len(comments) * 0.05
    articles = {a["id"]: a for a in full.articles}
    assert all(c["created"] >= articles[c["article_id"]]["created"] for c in comments.values())


# --- the rows as written ---------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def seeded(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database on ENGINE after one ``python -m news demo --no-serve`` (read only)."""
    for url in database_url(engine, tmp_path_factory.mktemp("seeded"), "seeded"):
        demo(url)
        yield url


@pytest.fixture
def fresh(engine: str, tmp_path: Path) -> Iterator[str]:
    yield from database_url(engine, tmp_path, "fresh")


def test_written_rows_match_the_counts_and_counters(seeded: str) -> None:
    assert scalar(seeded, SEED_USERS) == SMALL["users"]
    for table, key in (("article", "articles"), ("article_vote", "votes")):
        assert scalar(seeded, f"SELECT count(*) FROM {table}") == SMALL[key]
    assert scalar(seeded, "SELECT count(*) FROM comment") == SMALL["comments"]
    assert scalar(seeded, "SELECT count(*) FROM comment_vote") == SMALL["comment_votes"]
    wrong_points = """SELECT count(*) FROM article a WHERE a.points !=
        (SELECT count(*) FROM article_vote v WHERE v.article_id = a.id)"""
    wrong_comments = """SELECT count(*) FROM article a WHERE a.comment_count !=
        (SELECT count(*) FROM comment c WHERE c.article_id = a.id AND NOT c.deleted)"""
    wrong_comment_points = """SELECT count(*) FROM comment c WHERE c.points !=
        (SELECT count(*) FROM comment_vote v WHERE v.comment_id = c.id)"""
    for sql in (wrong_points, wrong_comments, wrong_comment_points):
        assert scalar(seeded, sql) == 0
    twice = """SELECT count(*) FROM (SELECT {0}, user_id FROM {1}
        GROUP BY {0}, user_id HAVING count(*) > 1) t"""
    assert scalar(seeded, twice.format("article_id", "article_vote")) == 0
    assert scalar(seeded, twice.format("comment_id", "comment_vote")) == 0
    replies = scalar(seeded, "SELECT count(*) FROM comment WHERE parent_id IS NOT NULL")
    assert 0.25 < replies / SMALL["comments"] < 0.55
    readers = """SELECT count(*) FROM auth_user_groups m JOIN auth_group g
        ON g.id = m.auth_group_id WHERE g.name = 'reader'"""
    assert scalar(seeded, readers) == SMALL["users"]


def test_same_seed_writes_the_same_rows(seeded: str, fresh: str) -> None:
    demo(fresh)
    first, second = dump(seeded), dump(fresh)
    seed_users = [u for u in first["auth_user"] if u[0] not in ("admin", "editor")]
    assert len(seed_users) == SMALL["users"]
    # The demo accounts' password hashes are salted; everything else matches.
    assert first["auth_user"][2:] == second["auth_user"][2:]
    for table in ("article", "article_vote", "comment", "comment_vote"):
        assert first[table] == second[table], table


def test_running_again_adds_nothing_and_keeps_changes(fresh: str) -> None:
    demo(fresh)
    execute(
        fresh,
        "UPDATE article SET title = 'Edited in the admin', hidden = true WHERE id = 5",
        "INSERT INTO auth_user (username, username_key, email, password, is_active, is_staff,"
        f" is_superuser, date_joined) VALUES ('newcomer', '{username_key('newcomer')}',"
        " 'new@example.org', '!', true, false, false, CURRENT_TIMESTAMP)",
    )
    before = dump(fresh)
    output = demo(fresh)
    assert "Seed data already there: nothing added, your changes kept." in output
    assert dump(fresh) == before
    assert query(fresh, "SELECT title, hidden FROM article WHERE id = 5") == [
        ("Edited in the admin", True)
    ]
    assert scalar(fresh, "SELECT count(*) FROM auth_user") == SMALL["users"] + 3


INTERRUPTED = """
import sys
from rich.console import Console
import news.seed
from news.app import db
from news.demo import prepare_database
prepare_database(db, Console())
def interrupted(connection, users):  # after every table was written, before the commit
    raise KeyboardInterrupt
news.seed._join_readers = interrupted
news.seed.seed(db, news.seed.Counts(**{counts}), progress=False)
"""


def test_an_interrupted_seed_leaves_nothing_and_the_next_one_completes(fresh: str) -> None:
    code = INTERRUPTED.format(counts=SMALL)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=NEWS, env=news_env(fresh),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "KeyboardInterrupt" in done.stderr
    assert scalar(fresh, "SELECT count(*) FROM auth_user") == 0
    assert scalar(fresh, "SELECT count(*) FROM article") == 0
    assert scalar(fresh, "SELECT count(*) FROM article_vote") == 0
    output = news("seed", url=fresh).stdout
    assert f"Seed data {sum(SMALL.values()):,} rows in" in output
    assert scalar(fresh, SEED_USERS) == SMALL["users"]
    assert scalar(fresh, "SELECT count(*) FROM comment") == SMALL["comments"]
