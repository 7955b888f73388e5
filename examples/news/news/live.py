"""Live updates: vote counts and new comments reach the pages already open.

The pages work without JavaScript; with it, ``static/live.js`` opens a WebSocket (an
article page: ``/live/articles/<id>``; a list: ``/live/lists``) and applies what arrives:

- ``{"type": "votes", "id": 7, "points": 12}``: an article's count (lists and its page);
- ``{"type": "votes", "comment": 42, "points": 3}``: a comment's count (its article's page);
- ``{"type": "comments", "id": 7, "count": 5}``: an article's comment count (lists, its page);
- ``{"type": "comment", "article": 7, "id": 42, "parent": null, "html": "<li ...>",
  "member_html": "<li ...>"}``: a new comment, rendered by ``templates/_comment.html`` as
  the page renders it: ``html`` as a signed-out reader sees it, ``member_html`` with the
  vote and reply forms (their CSRF field empty: live.js fills it from the page's meta tag).

The handlers call ``voted``/``commented`` (or ``avoted``/``acommented`` in async code)
after their writes; the message goes out once the request's unit of work commits
(``kettle.db.on_commit``), so a write that rolls back is never announced. Hidden articles,
hidden comments and replies under hidden comments are never announced: what is sent is
what the page shows a reader.

Messages travel through ``kettle.broadcast``: in one process (``memory://``) unless
``KETTLE_BROADCAST_URL`` or the ``news_redis_url`` setting names a Redis, through which
every worker's pages get every worker's updates::

    KETTLE_BROADCAST_URL=redis://127.0.0.1:6379/0 kettle run news/app.py
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import jinja2
import msgspec
from markupsafe import Markup

from kettle import App, Group, Request, WebSocket
from kettle.auth import AnonymousUser
from kettle.broadcast import Broadcast
from kettle.csrf import FIELD_NAME
from kettle.db import Model, on_commit
from kettle.timezones import default_zone
from kettle.websockets import WebSocketOptions
from news.models import Article, Comment
from news.settings import NewsSettings
from news.threads import build_tree, walk

#: The channel of the lists' vote counts (every article that is not hidden).
LISTS = "lists"
#: Rendered for each new comment: the article page's own partial.
_COMMENT = (
    '{% from "_comment.html" import comment_item with context %}{{ comment_item(node, here) }}'
)
#: Where the CSRF token goes in ``member_html``: live.js sets its value.
_CSRF_SLOT = Markup(f'<input type="hidden" name="{FIELD_NAME}" value="" data-live-csrf>')

group = Group("live", templates=None, static=None)
# NOTE: live.js pings every 30 s; a socket silent for longer is a page gone without a close
# (Granian sends no pings of its own), so it is closed.
group.websocket_options = WebSocketOptions(idle_timeout=75, send_buffer=256)


def article_channel(article_id: int) -> str:
    """The channel of one article's page: ``article:7``."""
    return f"article:{article_id}"


class Ping(msgspec.Struct):
    """All a page sends: ``{"type": "ping"}`` now and then. Anything else closes its
    socket (1007), as a bad message does."""

    type: Literal["ping"]


@dataclass(frozen=True)
class Member:
    """Who ``member_html`` is rendered for: signed in, author of nothing, no editor."""

    id: None = None
    is_authenticated: bool = True


class Live:
    """The app's broadcast and the comment template (``app.state.live``)."""

    def __init__(self, app: App, broadcast: Broadcast) -> None:
        self.app = app
        self.broadcast = broadcast

    @functools.cached_property
    def comment(self) -> jinja2.Template:
        """``_comment.html``'s macro, compiled on first use: the app's template globals
        and filters are all registered by then (``app.templates`` is made once)."""
        return self.app.templates.environment().from_string(_COMMENT)


def install(app: App, settings: NewsSettings) -> Live:
    """Add the live routes to ``app`` and its ``Broadcast``: ``KETTLE_BROADCAST_URL``,
    else ``news_redis_url``, else this process's memory::

        live = install(app, settings)
        live.broadcast.url            # "memory://"
    """
    url = os.environ.get("KETTLE_BROADCAST_URL", "") or settings.news_redis_url or None
    broadcast = Broadcast(app, url, prefix=f"{settings.news_cache_prefix}:live")
    live = Live(app, broadcast)
    app.state.live = live
    app.include(group)
    return live


def live_of(app: App) -> Live:
    """The app's ``Live`` (made by ``install``)."""
    live = app.state.live
    assert isinstance(live, Live)
    return live


# --- the sockets --------------------------------------------------------------------------------
@group.websocket("/live/articles/<int:id>")
async def article_updates(ws: WebSocket, id: int) -> None:
    """An article page's updates: its votes, its comments' votes, its new comments."""
    await _follow(ws, article_channel(id))


@group.websocket("/live/lists")
async def list_updates(ws: WebSocket) -> None:
    """The lists' updates: the vote counts of every visible article."""
    await _follow(ws, LISTS)


async def _follow(ws: WebSocket, channel: str) -> None:
    async with live_of(ws.app).broadcast.join(channel, ws):
        async for _ping in ws.iter(Ping):
            pass  # the page is still there


# --- votes ------------------------------------------------------------------------------------
def voted(request: Request, target: type[Model], id: int) -> None:
    """Announce the new count of article or comment ``id`` (``target``: Article or
    Comment) once the request commits, unless readers cannot see it (``def`` code)::

        toggle(ARTICLE, id, user.id)
        live.voted(request, Article, id)     # {"type": "votes", "id": id, "points": ...}
    """
    row = _votes_query(target, id).first()
    thread = list(_thread_query(row[1])) if row is not None and target is Comment else []
    _announce_votes(request, target, id, row, thread)


async def avoted(request: Request, target: type[Model], id: int) -> None:
    """``voted`` for async code."""
    row = await _votes_query(target, id).afirst()
    thread = await _thread_query(row[1]).alist() if row is not None and target is Comment else []
    _announce_votes(request, target, id, row, thread)


def _votes_query(target: type[Model], id: int) -> Any:
    """(points, article id, whether the article is hidden) of the article or comment."""
    if target is Article:
        return Article.objects.filter(id=id).values_list("points", "id", "hidden")
    return Comment.objects.filter(id=id).values_list("points", "article_id", "article__hidden")


def _thread_query(article_id: int) -> Any:
    """(id, parent id, hidden, deleted) of the article's comments."""
    comments = Comment.objects.filter(article_id=article_id)
    return comments.values_list("id", "parent_id", "hidden", "deleted")


def shown(comment_id: int, thread: list[tuple[int, int | None, bool, bool]]) -> bool:
    """Whether readers see comment ``comment_id`` with its count, given its article's
    ``thread`` of (id, parent id, hidden, deleted): not deleted, and neither it nor a
    comment it answers hidden (``threads.build_tree``'s rule)::

        shown(2, [(1, None, True, False), (2, 1, False, False)])   # False: 1 is hidden
    """
    rows = {row[0]: row for row in thread}
    row = rows.get(comment_id)
    if row is None or row[3]:
        return False
    while row is not None:
        if row[2]:
            return False
        row = rows.get(row[1]) if row[1] is not None else None
    return True


def _announce_votes(
    request: Request, target: type[Model], id: int, row: Any, thread: list[Any]
) -> None:
    if row is None or row[2]:
        return  # gone, or on a hidden article
    if target is Article:
        message = {"type": "votes", "id": id, "points": row[0]}
        _after_commit(request, message, LISTS, article_channel(id))
    elif shown(id, thread):
        message = {"type": "votes", "comment": id, "points": row[0]}
        _after_commit(request, message, article_channel(row[1]))


# --- comments ---------------------------------------------------------------------------------
def commented(request: Request, article: Article, comment_id: int) -> None:
    """Announce the new comment ``comment_id`` on ``article``'s page (and the article's
    new comment count) once the request commits, if readers see it (``def`` code)::

        comment = add(article, user.id, body, parent_id)
        live.commented(request, article, comment.id)
    """
    if not article.hidden:
        rows = Comment.objects.filter(article_id=article.id).select_related("author")
        _announce_comment(request, article, list(rows), comment_id)


async def acommented(request: Request, article: Article, comment_id: int) -> None:
    """``commented`` for async code."""
    if not article.hidden:
        rows = Comment.objects.filter(article_id=article.id).select_related("author")
        _announce_comment(request, article, await rows.alist(), comment_id)


def _announce_comment(
    request: Request, article: Article, rows: list[Comment], comment_id: int
) -> None:
    # The tree readers get (threads.build_tree): a comment under a hidden one is not in it.
    node = next(
        (n for n in walk(build_tree(rows, show_hidden=False)) if n.comment.id == comment_id), None
    )
    if node is None:
        return
    template = live_of(request.app).comment
    here = request.app.url_for("pages.article", id=article.id)
    page = {"article": article, "here": here, "node": node, "voted_comments": set()}
    page |= {"moderator": False, "edit_window": 0}
    zone = default_zone(request.app.settings)  # NOTE: one copy for all: the site's zone
    reader = SimpleNamespace(state=SimpleNamespace(user=AnonymousUser(), time_zone=zone))
    member = SimpleNamespace(state=SimpleNamespace(user=Member(), time_zone=zone))
    message = {
        "type": "comment",
        "article": article.id,
        "id": comment_id,
        "parent": node.comment.parent_id,
        "html": template.render(page, request=reader, csrf_input=_no_form),
        "member_html": template.render(page, request=member, csrf_input=lambda: _CSRF_SLOT),
    }
    _after_commit(request, message, article_channel(article.id))
    # The count the pages show: comments neither deleted nor hidden (comments.recount).
    count = sum(1 for row in rows if not row.deleted and not row.hidden)
    counted = {"type": "comments", "id": article.id, "count": count}
    _after_commit(request, counted, LISTS, article_channel(article.id))


def _no_form() -> Markup:
    raise AssertionError("a signed-out reader's comment has no form")


def _after_commit(request: Request, message: dict[str, Any], *channels: str) -> None:
    broadcast = live_of(request.app).broadcast

    async def publish() -> None:
        for channel in channels:
            await broadcast.publish(channel, message)

    on_commit(publish)


__all__ = [
    "LISTS",
    "Live",
    "Ping",
    "acommented",
    "article_channel",
    "article_updates",
    "avoted",
    "commented",
    "group",
    "install",
    "list_updates",
    "live_of",
    "shown",
    "voted",
]
