"""The template filters of the site: ``ago``, ``plural``, ``paragraphs``, ``editable``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup, escape

from kettle import App, Request
from kettle.auth import AnonymousUser
from kettle.db import fields


def ago(moment: dt.datetime) -> str:
    """``3 hours ago``, ``just now``, or the date for anything older than a month (in
    ``moment``'s zone: ``{{ stamp | localtime | ago }}`` gives the reader's date)."""
    seconds = (fields.now() - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count > 30:
                return f"on {moment:%d %b %Y}"
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def plural(count: int, word: str) -> str:
    """``1 comment``, ``3 comments``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def paragraphs(text: str) -> Markup:
    """Plain text as HTML paragraphs (escaped; blank lines split paragraphs)."""
    parts = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return Markup("".join(f"<p>{escape(p)}</p>".replace("\n", "<br>") for p in parts))


def editable(created: dt.datetime, window: int) -> bool:
    """Whether a comment posted at ``created`` is still in its edit window."""
    return fields.now() <= created + dt.timedelta(seconds=window)


def viewer(request: Request) -> Any:
    """The signed-in user, or ``AnonymousUser``, also on pages rendered before the auth
    hook ran (the 403 of a failed CSRF check)."""
    return getattr(request.state, "user", None) or AnonymousUser()


def install(app: App) -> None:
    """Register the filters (and the ``viewer`` global) on ``app``."""
    for fn in (ago, plural, paragraphs, editable):
        app.template_filter(fn)
    app.template_global(viewer)


__all__ = ["ago", "editable", "install", "paragraphs", "plural", "viewer"]
