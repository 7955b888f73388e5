"""What the site's pages and API share: who is asking, what they want back, the limits.

The rate limits read the site's settings on each request (``KETTLE_NEWS_*_RATE``), and
the page and the API of one action share a budget (one ``scope``)::

    @group.post("/articles/<int:id>/vote")
    @login_required
    @vote_limit
    def vote(request: Request, id: int): ...
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kettle import RedirectResponse, Request, flash
from kettle.auth import AbstractUser, get_user, rate_limit, role_required
from news.ranking import Rankings
from news.roles import MEMBERS, MODERATORS
from news.settings import NewsSettings


def settings_of(request: Request) -> NewsSettings:
    """The site's settings, typed."""
    settings = request.app.settings
    assert isinstance(settings, NewsSettings)
    return settings


def rankings_of(request: Request) -> Rankings:
    """The app's kept rankings (``news.ranking.Rankings``)."""
    rankings = request.app.state.rankings
    assert isinstance(rankings, Rankings)
    return rankings


def lists_changed(request: Request) -> None:
    """Moderation changed what the lists show: drop the kept rankings and the cached
    list pages, in every worker sharing the cache::

        Article.objects.filter(id=id).update(hidden=True)
        lists_changed(request)
    """
    rankings_of(request).forget()
    pages = getattr(request.app.state, "page_cache", None)
    if pages is not None:
        pages.clear()


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (the page's JavaScript does) rather than a page."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def signed_in(request: Request) -> AbstractUser:
    """``request.user`` behind a guard that let only signed-in users through."""
    user = get_user(request)
    assert isinstance(user, AbstractUser), "guard the handler with login_required"
    return user


def is_moderator(request: Request) -> bool:
    """Whether the user is an editor or an admin (or a superuser): ``def`` code."""
    user = get_user(request)
    return any(user.has_role(role) for role in MODERATORS)


async def ais_moderator(request: Request) -> bool:
    """``is_moderator`` for async code."""
    user = get_user(request)
    for role in MODERATORS:
        if await user.ahas_role(role):
            return True
    return False


def safe_next(value: str | None, default: str) -> str:
    """``value`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return default if parts.scheme or parts.netloc else value


def back(
    request: Request, next_url: str | None, default: str, message: str = "", category: str = "info"
) -> RedirectResponse:
    """Flash ``message`` (if any) and go back to ``next_url`` or ``default`` (303)."""
    if message:
        flash(request, message, category)
    return RedirectResponse(safe_next(next_url, default), 303)


def _rate(name: str) -> Any:
    def read(request: Request) -> str:
        value: str = getattr(settings_of(request), name)
        return value

    return read


#: Votes, comments and submissions: per user, pages and API alike.
vote_limit = rate_limit(_rate("news_vote_rate"), scope="news:votes")
comment_limit = rate_limit(_rate("news_comment_rate"), scope="news:comments", methods=["POST"])
article_limit = rate_limit(_rate("news_article_rate"), scope="news:articles", methods=["POST"])
#: Who may vote, comment and submit: members (every account gets ``reader`` at sign-up).
member_required = role_required(*MEMBERS)
#: Who may moderate.
moderator_required = role_required(*MODERATORS)

__all__ = [
    "ais_moderator",
    "article_limit",
    "back",
    "comment_limit",
    "is_moderator",
    "lists_changed",
    "member_required",
    "moderator_required",
    "safe_next",
    "settings_of",
    "signed_in",
    "vote_limit",
    "wants_json",
]
