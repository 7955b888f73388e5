"""The news site's data: articles, votes and threaded comments.

Accounts are `kettle.auth.User`; roles are auth groups named ``reader``, ``editor`` and
``admin``. ``Article.points`` and ``Article.comment_count`` are counters kept in step by
the code that adds or removes a vote or a comment, so the front page can rank and list
articles without counting rows on every request; the ``ArticleVote`` rows stay the
truth ("top this week" counts them).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kettle.auth import User
from kettle.db import Model, fields


class Article(Model):
    """A submitted link (``url``) or text post (``body``); one of the two is set."""

    title: str = fields.string(max_length=200)
    url: str | None = fields.url(max_length=500, null=True)
    domain: str = fields.string(max_length=200, default="")  # shown next to the title
    body: str = fields.text(default="")
    author: User = fields.foreign_key(User, related_name="articles")
    created: dt.datetime = fields.datetime(auto_now_add=True)
    points: int = fields.integer(default=0)  # number of ArticleVote rows
    comment_count: int = fields.integer(default=0)  # comments neither deleted nor hidden
    hidden: bool = fields.boolean(default=False)  # by an editor: not listed, 404 to readers
    featured: bool = fields.boolean(default=False)  # by an editor: pinned above the ranking
    locked: bool = fields.boolean(default=False)  # by an editor: no new comments or votes

    class Meta:
        ordering = ["-created"]
        indexes = [
            ("hidden", "-created"),
            ("featured", "hidden", "-created"),
            ("url", "created"),
            ("author_id", "-created"),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleVote(Model):
    """One upvote of one article by one user."""

    article: Article = fields.foreign_key(Article, related_name="votes")
    user: User = fields.foreign_key(User, related_name="article_votes")
    created: dt.datetime = fields.datetime(auto_now_add=True)

    class Meta:
        table_name = "article_vote"
        constraints = [sa.UniqueConstraint("article_id", "user_id", name="one_vote_per_article")]
        indexes = [("user_id", "article_id")]


class Comment(Model):
    """A comment on an article, or a reply to another comment (``parent``).

    A deleted comment keeps its row (``deleted``) so its replies stay in the thread; the
    page shows "[deleted]" in its place. ``edited`` is set when its author changes it.
    """

    article: Article = fields.foreign_key(Article, related_name="comments")
    author: User = fields.foreign_key(User, related_name="comments")
    parent: Comment | None = fields.foreign_key(
        "Comment", related_name="replies", null=True, on_delete=fields.CASCADE
    )
    body: str = fields.text()
    created: dt.datetime = fields.datetime(auto_now_add=True)
    edited: dt.datetime | None = fields.datetime(null=True)
    points: int = fields.integer(default=0)  # number of CommentVote rows
    deleted: bool = fields.boolean(default=False)  # by its author: soft delete
    hidden: bool = fields.boolean(default=False)  # by an editor

    class Meta:
        ordering = ["created"]
        indexes = [("article_id", "created"), ("author_id", "-created")]

    def __str__(self) -> str:
        return self.body[:60]


class CommentVote(Model):
    """One upvote of one comment by one user."""

    comment: Comment = fields.foreign_key(Comment, related_name="votes")
    user: User = fields.foreign_key(User, related_name="comment_votes")
    created: dt.datetime = fields.datetime(auto_now_add=True)

    class Meta:
        table_name = "comment_vote"
        constraints = [sa.UniqueConstraint("comment_id", "user_id", name="one_vote_per_comment")]


class DemoClock(Model):
    """The moment the demo's seed data was last brought up to date (``news.demo_clock``):
    one row, written by ``python -m news demo``; a site without the demo has none."""

    moment: dt.datetime = fields.datetime()

    class Meta:
        table_name = "demo_clock"


class Ranking(Model):
    """A ranked list of article ids that the periodic task ``news.tasks.recompute_rankings``
    stores for every web worker to read (``news_tasks=worker``): ``front`` for the front
    page, ``top:<min votes>`` for /top."""

    key: str = fields.string(max_length=50, unique=True)
    #: The article ids, best first, as JSON.
    ids: str = fields.text()
    computed: dt.datetime = fields.datetime()

    class Meta:
        table_name = "news_ranking"
