"""Request ids: the one context variable that stamps log records and tasks with a request.

``kettle.logs.RequestLogs`` sets it for each request (from a well-formed ``X-Request-ID``,
else a fresh uuid4 hex); log records and enqueued tasks read it; a task worker sets it
again while it runs a task that a request enqueued.
"""

from __future__ import annotations

import contextvars
import re
import uuid

#: The id of the request (or task) being served in this context; None outside one.
current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kettle_request_id", default=None
)

#: What an ``X-Request-ID`` from a client or proxy may be: up to 128 safe characters
#: (letters, digits and ``-_.:/+=@``), enough for uuids, hex ids and nginx's ``$request_id``.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9\-_.:/+=@]{1,128}")


def accept(header: bytes | None) -> str:
    """The header's id when it is well-formed, else a fresh uuid4 hex."""
    if header is not None and _WELL_FORMED.fullmatch(header):
        return header.decode("ascii")
    return uuid.uuid4().hex


def get() -> str | None:
    """The current request id (None outside a request or task)."""
    return current.get()
