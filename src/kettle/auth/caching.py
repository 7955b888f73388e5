"""``Cache-Control: private, no-store`` for what one person may see and nobody else.

A page made for a signed-in user (their name in the header, their drafts, the admin) must
not be kept by a shared cache, nor shown again by the back button to the next person at
the same computer. ``Auth`` marks the responses of signed-in users and of requests with
an ``Authorization`` header; ``AdminSite`` marks every admin page, error pages and the
login redirect included. Pages for anonymous visitors stay cacheable::

    never_store(response)       # unless the handler set something as strict already
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kettle.requests import Request
    from kettle.responses.base import Response

#: What a private response gets.
PRIVATE = "private, no-store"


def never_store(response: Response) -> None:
    """Make ``response`` ``Cache-Control: private, no-store``, unless it says ``no-store``
    already (a handler's ``no-store, max-age=0`` is as strict, and is kept)::

        never_store(response)
        response.headers["cache-control"]   # "private, no-store"
    """
    for key, value in response.raw_headers:
        if key == b"cache-control":
            directives = {part.strip().split(b"=")[0].lower() for part in value.split(b",")}
            if b"no-store" in directives:
                return
    response.set_header("cache-control", PRIVATE)


def is_personal(request: Request, session_key: str) -> bool:
    """Whether ``request`` is one person's: a signed-in user (``request.user``), a session
    that names one (404 pages, where no route ran), or an ``Authorization`` header."""
    # PERF: every response asks; the attribute and dict look-ups come before the headers.
    user = getattr(request.state, "user", None)
    if user is not None and user.is_authenticated:
        return True
    session = request.session_data
    if session is not None and session_key in session:
        return True
    return "authorization" in request.headers


__all__ = ["PRIVATE", "is_personal", "never_store"]
