"""The seed data as plain rows: one dict per row, ready for a Core ``INSERT``.

``generate()`` is pure Python and deterministic: the same ``Counts``, seed, clock and first
ids give the same rows. Dates spread over ``Counts.days`` with more activity lately;
popularity is heavy-tailed (a few articles get hundreds of votes, most get a handful);
counters (``points``, ``comment_count``) are computed from the generated rows, so they
agree with them by construction. Ids are assigned in time order, so a reply's parent is
always inserted before it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from kettle.auth.models import UNUSABLE_PREFIX
from kettle.auth.usernames import username_key
from news import demo_text

Row = dict[str, Any]
#: Seed users' e-mail addresses end with this (a reserved example domain); finding one
#: is how `seed()` knows the data is there.
SEED_EMAIL_DOMAIN = "@seed.kettle-news.example"
HOUR = dt.timedelta(hours=1)
#: (count, the count it cannot do without): votes need articles, and so on.
_NEEDS = (
    ("articles", "users"),
    ("votes", "articles"),
    ("comments", "articles"),
    ("comment_votes", "comments"),
)


@dataclass(frozen=True)
class Counts:
    """How much to generate; the defaults are the demo's."""

    users: int = 1_000
    articles: int = 10_000
    votes: int = 100_000
    comments: int = 30_000
    comment_votes: int = 20_000
    days: int = 60  # the data spans this many days before now

    def __post_init__(self) -> None:
        for wanted, parent in _NEEDS:
            if getattr(self, wanted) and not getattr(self, parent):
                raise ValueError(f"{wanted} need {parent}: give at least one of those too.")


@dataclass
class Rows:
    """Rows per table, in insert order (parents before children)."""

    users: list[Row] = field(default_factory=list)
    articles: list[Row] = field(default_factory=list)
    votes: list[Row] = field(default_factory=list)
    comments: list[Row] = field(default_factory=list)
    comment_votes: list[Row] = field(default_factory=list)


def generate(
    counts: Counts,
    seed: int,
    now: dt.datetime,
    first_ids: dict[str, int],
    taken: Collection[str] = (),
) -> Rows:
    """Every seed row; ``first_ids`` gives the first free id of each table, ``taken`` the
    usernames already in use."""
    builder = _Builder(counts, now)
    rng = random.Random(f"{seed}-users")  # a stream of its own: the usernames stay put
    builder.users(rng, first_ids["auth_user"], taken)
    rng = random.Random(seed)
    builder.author_weights = _cumulative([rng.paretovariate(1.3) for _ in builder.user_ids])
    builder.articles(rng, first_ids["article"])
    builder.votes(rng, first_ids["article_vote"])
    builder.comments(rng, first_ids["comment"])
    builder.comment_votes(rng, first_ids["comment_vote"])
    return builder.rows


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _vote_targets(rng: random.Random, total: int, items: int, cap: int) -> list[int]:
    """Split TOTAL votes over ITEMS: heavy-tailed (Pareto, alpha 1.5), none above CAP."""
    raw = [rng.paretovariate(1.5) for _ in range(items)]
    low, high = 0.0, float(total)
    for _ in range(40):  # the scale at which the capped shares add up to TOTAL
        scale = (low + high) / 2
        if sum(min(cap, int(scale * r)) for r in raw) < total:
            low = scale
        else:
            high = scale
    targets = [min(cap, int(high * r)) for r in raw]
    excess = sum(targets) - total
    for index in sorted(range(items), key=targets.__getitem__, reverse=True):
        if excess <= 0:
            break
        cut = min(excess, targets[index])
        targets[index] -= cut
        excess -= cut
    return targets


class _Builder:
    """Builds the rows table by table; later tables read the earlier ones."""

    def __init__(self, counts: Counts, now: dt.datetime) -> None:
        self.counts, self.now = counts, now
        self.rows = Rows()
        self.user_ids: list[int] = []
        self.author_weights: list[float] = []  # cumulative: some users post a lot

    @property
    def cap(self) -> int:
        """The most votes one item gets: even the top story is not upvoted by everyone."""
        return max(1, len(self.user_ids) * 3 // 5)

    def later(self, rng: random.Random, start: dt.datetime, mean: dt.timedelta) -> dt.datetime:
        """A moment after START, usually soon after it, never after now."""
        moment = start + rng.expovariate(1.0) * mean
        return moment if moment <= self.now else start + (self.now - start) * rng.random()

    def users(self, rng: random.Random, first: int, taken: Collection[str]) -> None:
        days, now = self.counts.days, self.now
        for offset, name in enumerate(demo_text.usernames(rng, self.counts.users, taken)):
            seen = now - rng.uniform(0, days) * 24 * HOUR if rng.random() < 0.7 else None
            self.rows.users.append({
                "id": first + offset, "username": name, "username_key": username_key(name),
                "email": name + SEED_EMAIL_DOMAIN,
                "password": f"{UNUSABLE_PREFIX}seed-{rng.getrandbits(64):016x}",
                "is_active": True, "is_staff": False, "is_superuser": False,
                "date_joined": now - (days + rng.uniform(1, 900)) * 24 * HOUR,
                "last_login": seen,
            })  # fmt: skip
        self.user_ids = [row["id"] for row in self.rows.users]

    def articles(self, rng: random.Random, first: int) -> None:
        count, days = self.counts.articles, self.counts.days
        # More recent days are busier: the age is DAYS * u**1.7 for a uniform u.
        ages = sorted((days * rng.random() ** 1.7 for _ in range(count)), reverse=True)
        authors = rng.choices(self.user_ids, cum_weights=self.author_weights, k=count)
        titles: set[str] = set()
        for offset, (age, author) in enumerate(zip(ages, authors, strict=True)):
            for _ in range(20):  # a title that has not been used yet, almost always
                title, url, domain, body = demo_text.headline(rng)
                if title not in titles:
                    break
            titles.add(title)
            self.rows.articles.append({
                "id": first + offset, "title": title, "url": url, "domain": domain,
                "body": body, "author_id": author, "created": self.now - age * 24 * HOUR,
                "points": 0, "comment_count": 0, "hidden": rng.random() < 0.003,
                "featured": False, "locked": age > 30 and rng.random() < 0.01,
            })  # fmt: skip

    def votes(self, rng: random.Random, first: int) -> None:
        articles = self.rows.articles
        votes = []
        for article, target in zip(
            articles, _vote_targets(rng, self.counts.votes, len(articles), self.cap), strict=True
        ):
            article["points"] = target
            for user in rng.sample(self.user_ids, target):
                votes.append((self.later(rng, article["created"], 6 * HOUR), article["id"], user))
        votes.sort()
        self.rows.votes = [
            {"id": first + n, "article_id": a, "user_id": u, "created": c}
            for n, (c, a, u) in enumerate(votes)
        ]
        # The two best of the last two days are pinned on the front page.
        recent = [a for a in articles if self.now - a["created"] < 48 * HOUR and not a["hidden"]]
        for article in sorted(recent, key=lambda a: -a["points"])[:2]:
            article["featured"] = True

    def comments(self, rng: random.Random, first: int) -> None:
        articles, count = self.rows.articles, self.counts.comments
        # Popular articles and text posts draw more comments.
        weights = [(a["points"] + 1) ** 0.8 * (2 if a["url"] is None else 1) for a in articles]
        per_article = [0] * len(articles)
        for index in rng.choices(range(len(articles)), weights=weights, k=count):
            per_article[index] += 1
        authors = iter(rng.choices(self.user_ids, cum_weights=self.author_weights, k=count))
        drafts: list[tuple[dt.datetime, int, Row]] = []
        for article, many in zip(articles, per_article, strict=True):
            times = sorted(self.later(rng, article["created"], 10 * HOUR) for _ in range(many))
            thread: list[Row] = []
            for created in times:
                # About 40% are replies, to one of the latest comments of the thread.
                parent = rng.choice(thread[-8:]) if thread and rng.random() < 0.55 else None
                body = (
                    demo_text.reply(rng) if parent else demo_text.paragraph(rng, rng.randint(1, 3))
                )
                edited = self.later(rng, created, HOUR) if rng.random() < 0.04 else None
                comment = {
                    "article_id": article["id"], "author_id": next(authors), "parent": parent,
                    "body": body, "created": created, "edited": edited, "points": 0,
                    "deleted": rng.random() < 0.02, "hidden": False,
                }  # fmt: skip
                article["comment_count"] += not comment["deleted"]
                thread.append(comment)
                drafts.append((created, len(drafts), comment))
        drafts.sort(key=lambda draft: draft[:2])  # a parent sorts before its replies
        for n, (_, _, comment) in enumerate(drafts):
            comment["id"] = first + n
        for _, _, comment in drafts:
            parent = comment.pop("parent")
            comment["parent_id"] = parent["id"] if parent else None
            self.rows.comments.append(comment)

    def comment_votes(self, rng: random.Random, first: int) -> None:
        comments = self.rows.comments
        if not comments:
            return
        targets = _vote_targets(rng, self.counts.comment_votes, len(comments), self.cap)
        votes = []
        for comment, target in zip(comments, targets, strict=True):
            comment["points"] = target
            for user in rng.sample(self.user_ids, target):
                votes.append((self.later(rng, comment["created"], 4 * HOUR), comment["id"], user))
        votes.sort()
        self.rows.comment_votes = [
            {"id": first + n, "comment_id": c, "user_id": u, "created": t}
            for n, (t, c, u) in enumerate(votes)
        ]
