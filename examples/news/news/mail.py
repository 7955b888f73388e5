"""The site's own mail: a welcome on sign-up, and a note when someone replies to you.

(The password-reset mail is kettle.auth's, ``kettle.auth.reset.password_reset_message``.)
Both are plain text and built from rows already loaded, so the request (``news_tasks=off``)
and the worker's task (``news_tasks=worker``) make the same message::

    welcome_message(user, "https://news.example.org").subject   # "Welcome to Kettle News"
"""

from __future__ import annotations

from typing import Any

from kettle.mail import EmailMessage
from news.models import Article, Comment

SITE_NAME = "Kettle News"


def welcome_message(user: Any, site: str) -> EmailMessage:
    """The welcome mail for a new account."""
    body = (
        f"Hello {user.username},\n\n"
        f"Welcome to {SITE_NAME}! Share a link or a story at {site}/submit, vote on what\n"
        f"you like and join the discussions.\n\n"
        f"If you did not sign up at {site}, ignore this message.\n"
    )
    return EmailMessage(f"Welcome to {SITE_NAME}", body, to=[user.email])


def reply_message(
    comment: Comment, commenter: Any, article: Article, recipient: Any, site: str
) -> EmailMessage:
    """The note to ``recipient`` that ``commenter`` 's ``comment`` answers their article or
    comment."""
    what = "your comment" if comment.parent_id is not None else "your article"
    link = f"{site}/articles/{article.id}#c{comment.id}"
    excerpt = comment.body if len(comment.body) <= 500 else comment.body[:499] + "…"
    body = (
        f"Hello {recipient.username},\n\n"
        f"{commenter.username} replied to {what} on “{article.title}”:\n\n"
        f"{excerpt}\n\n"
        f"Read and answer: {link}\n"
    )
    return EmailMessage(f"New reply on “{article.title}”", body, to=[recipient.email])


def reply_recipient_id(comment: Comment, article: Article, parent: Comment | None) -> int | None:
    """Who hears of ``comment`` (the author of ``parent``, its parent comment, else of the
    article), or None when that is the commenter: nobody is told of their own replies."""
    recipient = parent.author_id if parent is not None else article.author_id
    return None if recipient == comment.author_id else recipient


__all__ = ["SITE_NAME", "reply_message", "reply_recipient_id", "welcome_message"]
