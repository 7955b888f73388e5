"""The site's settings: Kettle's, plus the ones of the news site (``KETTLE_NEWS_*``).

Every rate is ``<count>/<period>`` (see ``kettle.auth.Rate``); tests, seeding and browser
tests raise them with ``KETTLE_NEWS_VOTE_RATE=10000/minute`` and the like::

    settings = NewsSettings.load(news_comment_rate="1000/minute")
"""

from __future__ import annotations

from typing import Literal

from kettle import Settings


class NewsSettings(Settings):
    """Kettle's settings plus the news site's own."""

    #: Articles per page on the lists and the profile pages.
    news_per_page: int = 30
    #: How many of the newest articles the front page ranks (older ones are on /new).
    news_rank_window: int = 1000
    #: Seconds the front page's and /top's order is kept in kettle.cache (0: ranked on
    #: every request). ``KETTLE_CACHE_URL=redis://...`` shares it between workers.
    news_rank_cache_seconds: float = 15
    #: Seconds the lists (/, /new, /top) are served from the page cache to signed-out
    #: readers (0: never cached). Signed-in readers always get a fresh page.
    news_page_cache_seconds: float = 10
    #: kettle.cache's backend (``KETTLE_CACHE_URL``): ``memory://`` in each worker when
    #: empty, or ``redis://127.0.0.1:6379/0`` for one cache shared by every worker.
    cache_url: str = ""
    #: What the site's cache keys start with (``<prefix>:cache:...``): give two sites
    #: sharing one Redis database different prefixes.
    news_cache_prefix: str = "news"
    #: Featured articles pinned above the ranking on the front page.
    news_featured_count: int = 5
    #: Seconds after posting during which the author may edit a comment.
    news_edit_window: int = 15 * 60
    #: "top this week": articles of the last 7 days with at least this many votes.
    news_top_min_votes: int = 10
    #: Per-user rate limits (pages and API share them).
    news_article_rate: str = "5/10minutes"
    news_comment_rate: str = "10/minute"
    news_vote_rate: str = "60/minute"
    #: Per-address limit on issuing API tokens (``POST /api/tokens``).
    news_token_rate: str = "10/hour"
    #: Accounts the sign-up page creates per client address in an hour (kettle.auth's
    #: ``AuthOptions.max_signups_per_address``; the browser tests raise it).
    news_signups_per_hour: int = 5
    #: Keep rate-limit and login counters in Redis (several workers), e.g.
    #: ``redis://127.0.0.1:6379/0``; empty: in this process's memory.
    news_redis_url: str = ""
    #: ``worker``: mail (password reset, welcome, reply notes) is queued with kettle.tasks
    #: for ``kettle worker news/app.py`` to send, and a periodic task ranks the front page
    #: and /top for every web worker (``KETTLE_TASKS_URL`` picks where tasks wait: the
    #: site's database by default, or Redis). ``off`` (the default, ``make demo``): mail
    #: is sent during the request and each web worker ranks for itself.
    news_tasks: Literal["off", "worker"] = "off"
    #: "Sign in with GitHub" is offered when the client id and secret are set (register
    #: the site at GitHub with the redirect URI ``<site>/auth/oidc/github/callback``).
    oidc_github_client_id: str = ""
    oidc_github_client_secret: str = ""
    #: Where GitHub is: empty for github.com; else one address that serves GitHub's
    #: ``/authorize``, ``/token`` and ``/api`` paths, such as the stand-in GitHub that
    #: ``make demo`` starts (``kettle.auth.oidc.devprovider``) and sets this to.
    news_github_url: str = ""


__all__ = ["NewsSettings"]
