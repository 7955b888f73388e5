"""The demo's clock: seed data that stays current however long ago it was seeded.

The seed is dated relative to the moment it ran, so a week later the same database would
show an empty "top this week" and "2 weeks ago" everywhere. Each run of
``python -m news demo`` therefore moves the seed's timestamps forward by the time since
the last run, with one UPDATE per table::

    from news.demo_clock import catch_up, start
    start(db, now)                # right after seeding: the data leads up to now
    moved = catch_up(db, later)   # a later run: the interval the data moved by

Only rows of the seed users move: their articles, comments (and those comments' edit
times), votes and sign-up dates. Whatever people did on the site (accounts, articles,
comments and votes of other users) keeps its time, and no other column changes, so edits
made in the admin stay. The moment the data leads up to is kept in one ``DemoClock`` row
(for data seeded before there was a clock, the newest seed article stands in for it).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kettle.auth import User
from kettle.db import Database
from news.demo_rows import SEED_EMAIL_DOMAIN
from news.models import Article, ArticleVote, Comment, CommentVote, DemoClock

#: What moves: model, the column naming the seed user, the timestamp columns.
SHIFTED: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (Article, "author_id", ("created",)),
    (ArticleVote, "user_id", ("created",)),
    (Comment, "author_id", ("created", "edited")),
    (CommentVote, "user_id", ("created",)),
    (User, "id", ("date_joined", "last_login")),
)


def start(db: Database, now: dt.datetime) -> None:
    """Record that the seed data, just written, leads up to ``now``."""
    clock = _table(DemoClock)
    with db.session() as session:
        connection = session.connection()
        connection.execute(sa.delete(clock))
        connection.execute(sa.insert(clock).values(moment=now))


def catch_up(db: Database, now: dt.datetime) -> dt.timedelta:
    """Move the seed data forward to ``now``; returns by how much (whole seconds).

    A ``now`` earlier than the recorded moment moves nothing; so does a database without
    seed data.
    """
    clock = _table(DemoClock)
    with db.session() as session:
        connection = session.connection()
        users = _table(User)
        seed_users = [
            row[0]
            for row in connection.execute(
                sa.select(users.c.id).where(users.c.email.endswith(SEED_EMAIL_DOMAIN))
            )
        ]
        moment = connection.execute(sa.select(clock.c.moment)).scalar()
        if moment is None:
            articles = _table(Article)
            newest = sa.select(sa.func.max(articles.c.created))
            moment = connection.execute(newest.where(articles.c.author_id.in_(seed_users))).scalar()
            if moment is None:
                return dt.timedelta(0)
            connection.execute(sa.insert(clock).values(moment=moment))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        seconds = int((now - moment).total_seconds())
        if seconds <= 0:
            return dt.timedelta(0)
        # NOTE: the seed users' ids as a list, not a subquery: MariaDB cannot update
        # auth_user while a subquery of the same statement reads it.
        for model, owner, columns in SHIFTED:
            table = _table(model)
            moved = {name: _later(db.dialect, table.c[name], seconds) for name in columns}
            connection.execute(sa.update(table).where(table.c[owner].in_(seed_users)).values(moved))
        moment = moment + dt.timedelta(seconds=seconds)
        connection.execute(sa.update(clock).values(moment=moment))
    return dt.timedelta(seconds=seconds)


def _later(
    dialect: str, column: sa.ColumnElement[dt.datetime], seconds: int
) -> sa.ColumnElement[dt.datetime]:
    """``column`` plus ``seconds``, in the database (NULL stays NULL)."""
    if dialect == "postgresql":
        return column + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    if dialect == "mysql":
        return sa.func.date_add(column, sa.text(f"INTERVAL {seconds:d} SECOND"))
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" text: shift the whole seconds, keep the rest.
    whole = sa.func.strftime("%Y-%m-%d %H:%M:%S", column, f"+{seconds:d} seconds")
    return sa.type_coerce(whole.concat(sa.func.substr(column, 20)), column.type)


def _table(model: type) -> sa.Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
