"""Error pages: the site's look for browsers, Kettle's JSON for API clients.

API paths (``/api/...``) and clients that do not ask for HTML get the usual JSON body
(``{"status", "error", "detail"}``, plus ``errors`` for invalid input); browsers get
``error.html`` with the same message, status and headers (``Retry-After`` on a 429).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from kettle import App, HTTPException, JSONResponse, Request, render

#: The statuses given the site's page.
STATUSES = (400, 403, 404, 405, 409, 413, 415, 422, 429)


def error_page(request: Request, exc: Exception) -> Any:
    """The page (or JSON) for an ``HTTPException`` raised while handling ``request``."""
    assert isinstance(exc, HTTPException)
    accept = request.headers.get("accept", "")
    if request.path.startswith("/api/") or "text/html" not in accept:
        return JSONResponse(exc.body(), status=exc.status, headers=exc.headers)
    return render(
        "error.html",
        status=exc.status,
        headers=exc.headers,
        code=exc.status,
        phrase=HTTPStatus(exc.status).phrase,
        detail=exc.detail,
    )


def install(app: App) -> None:
    """Register the error page on ``app`` for the client errors in ``STATUSES``."""
    for status in STATUSES:
        app.errorhandler(status)(error_page)


__all__ = ["STATUSES", "error_page", "install"]
