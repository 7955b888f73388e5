"""The site's background work, with kettle.tasks: mail, and the shared rankings.

With ``news_tasks=worker`` (``KETTLE_NEWS_TASKS=worker``) a request only queues the work
and ``kettle worker news/app.py`` does it:

- ``send_password_reset``: the reset page queues it for every address asked for and
  answers at once, doing the same work whether the address has an account or not (no
  timing tells who has one); the worker finds the accounts and mails only those, with a
  link made there, so no reset token waits in the queue;
- ``send_welcome``: queued by the sign-up page, in the same transaction as the account;
- ``notify_reply``: tells an article's or a comment's author that someone answered;
- ``recompute_rankings``: every 15 seconds, ranks the front page and /top once for every
  web worker (``news.ranking.SharedRankings``);
- ``forget_finished_tasks``: every hour, deletes the records of tasks done a day ago.

With ``news_tasks=off`` (the default, and ``make demo``: no worker to run) the same mail
is sent during the request and each web worker ranks for itself. The functions below
(``queue_reset_mail``, ``welcome``, ``after_comment`` and its async twin for the API,
``make_rankings``) are where the site chooses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from kettle import App, Request
from kettle.auth import Auth
from kettle.auth.reset import reset_messages, site_url
from kettle.db import Database, fields
from kettle.tasks import current, task
from kettle.tasks.models import TaskRow
from news import ranking
from news.mail import reply_message, reply_recipient_id, welcome_message
from news.models import Article, Comment
from news.settings import NewsSettings

log = logging.getLogger("news")

#: Every 15 seconds (a sixth cron field, last, is the seconds): how stale the order gets.
RANKINGS_CRON = "* * * * * */15"


def _app() -> App:
    """The app whose worker (or test) runs the task: the one its ``Tasks`` belongs to."""
    app = current().app
    if app is None:
        raise RuntimeError("news tasks need the Tasks object of the news app (news.app)")
    return app


def _auth() -> Auth:
    auth: Auth = _app().state.auth
    return auth


# --- the tasks ---------------------------------------------------------------------------
@task(name="news.send_password_reset", retries=3, backoff=30)
async def send_password_reset(email: str, site: str) -> None:
    """Mail a fresh password-reset link to each account of ``email`` that may have one
    (nothing for an address with no account)."""
    auth = _auth()
    async with auth.db.async_session():
        messages = await reset_messages(auth, email, site)
    if messages:
        await auth.mail.send(messages)


@task(name="news.send_welcome", retries=3, backoff=30)
async def send_welcome(user_id: int, site: str) -> None:
    """Mail the welcome note to a new account."""
    auth = _auth()
    async with auth.db.async_session():
        user = await auth.user_model.objects.filter(id=user_id).afirst()
    if user is not None and user.email:
        await auth.mail.send([welcome_message(user, site)])


@task(name="news.notify_reply", retries=3, backoff=30)
async def notify_reply(comment_id: int, site: str) -> None:
    """Tell the author of the article or comment that ``comment_id`` answers."""
    auth = _auth()
    async with auth.db.async_session():
        related = Comment.objects.select_related("author", "article", "parent")
        comment = await related.filter(id=comment_id).afirst()
        if comment is None or comment.hidden or comment.deleted:
            return
        recipient_id = reply_recipient_id(comment, comment.article, comment.parent)
        if recipient_id is None:
            return
        recipient = await auth.user_model.objects.filter(id=recipient_id, is_active=True).afirst()
    if recipient is not None and recipient.email:
        message = reply_message(comment, comment.author, comment.article, recipient, site)
        await auth.mail.send([message])


@task(name="news.recompute_rankings", cron=RANKINGS_CRON)
def recompute_rankings() -> None:
    """Rank the front page and /top and store them for every web worker."""
    app = _app()
    settings = app.settings
    assert isinstance(settings, NewsSettings)
    database: Database = app.state.db
    with database.session():
        ranking.store_all(settings.news_rank_window, settings.news_top_min_votes)


@task(name="news.forget_finished_tasks", cron="0 * * * *")
def forget_finished_tasks() -> None:
    """Every hour, delete the database backend's records of tasks done over a day ago
    (four rankings a minute would otherwise pile up; Redis lets its records expire)."""
    app = _app()
    if current().backend.name != "database":
        return
    database: Database = app.state.db
    with database.session():
        old = fields.now() - dt.timedelta(days=1)
        TaskRow.objects.filter(state="done", finished_at__lt=old).delete()


# --- where the site chooses: now, or through a task --------------------------------------
def _worker(app: App) -> bool:
    settings = app.settings
    return isinstance(settings, NewsSettings) and settings.news_tasks == "worker"


async def queue_reset_mail(request: Request, email: str) -> None:
    """kettle.auth's ``on_password_reset`` hook (``news_tasks=worker`` only)."""
    await send_password_reset.aenqueue(email, site_url(request))


async def welcome(request: Request, user: Any) -> None:
    """After sign-up: queue the welcome mail, or send it now."""
    site = site_url(request)
    if _worker(request.app):
        await send_welcome.aenqueue(user.id, site)
    elif user.email:
        await _auth().mail.send([welcome_message(user, site)])


def after_comment(
    request: Request, comment: Comment, article: Article, parent: Comment | None
) -> None:
    """After a comment is saved (``def`` code): queue the reply note, or send it now."""
    site = site_url(request)
    if _worker(request.app):
        notify_reply.enqueue(comment.id, site)
        return
    recipient_id = reply_recipient_id(comment, article, parent)
    auth: Auth = request.app.state.auth
    recipient = recipient_id and auth.user_model.objects.filter(id=recipient_id).first()
    if not recipient or not recipient.is_active or not recipient.email:
        return
    commenter = auth.user_model.objects.get(id=comment.author_id)
    try:
        # NOTE: def code runs in a worker thread, which has no event loop of its own.
        asyncio.run(auth.mail.send([reply_message(comment, commenter, article, recipient, site)]))
    except (OSError, ValueError) as error:  # a note is not worth losing the comment over
        log.warning("could not send the reply note for comment %s: %s", comment.id, error)


async def aafter_comment(
    request: Request, comment: Comment, article: Article, parent: Comment | None
) -> None:
    """``after_comment`` for async code (the API's comments resource)."""
    site = site_url(request)
    if _worker(request.app):
        await notify_reply.aenqueue(comment.id, site)
        return
    recipient_id = reply_recipient_id(comment, article, parent)
    auth: Auth = request.app.state.auth
    if recipient_id is None:
        return
    recipient = await auth.user_model.objects.filter(id=recipient_id, is_active=True).afirst()
    if recipient is None or not recipient.email:
        return
    commenter = await auth.user_model.objects.aget(id=comment.author_id)
    try:
        await auth.mail.send([reply_message(comment, commenter, article, recipient, site)])
    except (OSError, ValueError) as error:  # as in after_comment
        log.warning("could not send the reply note for comment %s: %s", comment.id, error)


def make_rankings(app: App, settings: NewsSettings) -> ranking.Rankings:
    """Each web worker's own rankings, or (``news_tasks=worker``) the shared ones, which
    ask the task to rank again at once when moderation changes what lists show."""
    if settings.news_tasks != "worker":
        return ranking.Rankings(settings.news_rank_cache_seconds)

    def recompute() -> None:
        recompute_rankings.options(unique_key="news.rankings").enqueue()

    return ranking.SharedRankings(settings.news_rank_cache_seconds, recompute)


__all__ = [
    "RANKINGS_CRON",
    "aafter_comment",
    "after_comment",
    "forget_finished_tasks",
    "make_rankings",
    "notify_reply",
    "queue_reset_mail",
    "recompute_rankings",
    "send_password_reset",
    "send_welcome",
    "welcome",
]
