"""Submitting an article: checking the title, the link or the text, and duplicates.

An article has a title and exactly one of a link (an http or https URL) or a text. A
link submitted again within 7 days is a duplicate: the submitter is sent to the
article that has it instead. The page and the API share these checks::

    errors, values = check(title, url, body)
    if not errors:
        existing = recent_duplicate(values["url"])
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from kettle.db import QuerySet, fields
from news.models import Article

#: How long a link counts as a duplicate after it was submitted.
DUPLICATE_WINDOW = dt.timedelta(days=7)
MAX_TITLE, MAX_URL, MAX_BODY = 200, 500, 20_000
Errors = dict[str, list[str]]


def domain_of(url: str) -> str:
    """The host a link points to, as shown next to titles: ``example.com``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def url_problem(url: str) -> str:
    """Why ``url`` is not a link we accept, or ""."""
    if len(url) > MAX_URL:
        return f"Use a link of at most {MAX_URL} characters."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return "Enter a full http:// or https:// link, like https://example.com/story."
    return ""


def check(title: str, url: str, body: str) -> tuple[Errors, dict[str, str]]:
    """Problems per field (empty when fine) and the cleaned values."""
    values = {"title": " ".join(title.split()), "url": url.strip(), "body": body.strip()}
    errors: Errors = {}
    if not values["title"]:
        errors["title"] = ["Give the article a title."]
    elif len(values["title"]) > MAX_TITLE:
        errors["title"] = [f"Keep the title to {MAX_TITLE} characters."]
    if values["url"] and values["body"]:
        errors["url"] = ["Give a link or a text, not both: clear one of the two fields."]
    elif not values["url"] and not values["body"]:
        errors["url"] = ["Give a link to the story, or write a text instead."]
    elif values["url"] and (problem := url_problem(values["url"])):
        errors["url"] = [problem]
    elif len(values["body"]) > MAX_BODY:
        errors["body"] = [f"Keep the text to {MAX_BODY:,} characters."]
    return errors, values


def duplicates(url: str) -> QuerySet[Article]:
    """Visible articles with this link from the last 7 days, newest first."""
    since = fields.now() - DUPLICATE_WINDOW
    return Article.objects.filter(url=url, created__gte=since, hidden=False).order_by("-created")


def recent_duplicate(url: str) -> Article | None:
    """The article that already has ``url`` this week, if any (``def`` code)."""
    return duplicates(url).first() if url else None


async def arecent_duplicate(url: str) -> Article | None:
    """``recent_duplicate`` for async code."""
    return await duplicates(url).afirst() if url else None


def new_article(values: dict[str, str], author_id: int) -> Article:
    """An unsaved article from checked values."""
    url = values["url"] or None
    return Article(
        title=values["title"],
        url=url,
        domain=domain_of(url) if url else "",
        body=values["body"],
        author_id=author_id,
    )


__all__ = [
    "DUPLICATE_WINDOW",
    "arecent_duplicate",
    "check",
    "domain_of",
    "new_article",
    "recent_duplicate",
    "url_problem",
]
