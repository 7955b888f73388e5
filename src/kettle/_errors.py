"""Default error responses: JSON for API clients, a small page for browsers, and the
debug page (development only)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from kettle.i18n._gettext import ACTIVE, gettext
from kettle.i18n._gettext import gettext_noop as N_
from kettle.responses.base import HTMLResponse, JSONResponse, Response

if TYPE_CHECKING:
    from kettle.requests import Request

# The reason phrases error pages show, for the catalogues (kettle.i18n translates them).
_PHRASES = (
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Not Acceptable"),
    N_("Conflict"),
    N_("Gone"),
    N_("Request Entity Too Large"),
    N_("Unsupported Media Type"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Request Header Fields Too Large"),
    N_("Internal Server Error"),
    N_("Bad Gateway"),
    N_("Service Unavailable"),
)

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {phrase}</title>
<style nonce="{nonce}">
body{{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;
min-height:100vh;background:#f6f7f9;color:#1d2330}}
main{{max-width:36rem;padding:2rem;background:#fff;border-radius:12px;
box-shadow:0 1px 3px #0002}}
h1{{margin:0 0 .5rem;font-size:1.4rem}} p{{margin:0;color:#4a5161}}
pre{{overflow:auto;background:#1d2330;color:#e8eaf0;padding:1rem;border-radius:8px;
font-size:13px}}
</style></head>
<body><main><h1>{status} {phrase}</h1><p>{detail}</p>{extra}</main></body></html>
"""


def wants_html(request: Request) -> bool:
    """Browsers ask for text/html; API clients and curl do not."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def error_response(
    request: Request,
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The default response for an HTTP error, negotiated between HTML and JSON."""
    if wants_html(request):
        extra = ""
        errors = body.get("errors")
        if errors:
            items = "".join(
                f"<li><code>{html.escape('.'.join(map(str, e['loc'])))}</code>: "
                f"{html.escape(str(e['msg']))}</li>"
                for e in errors
            )
            extra = f"<ul>{items}</ul>"
        page = _PAGE.format(
            lang=ACTIVE.get().code or "en",
            status=status,
            phrase=html.escape(gettext(HTTPStatus(status).phrase)),
            detail=html.escape(str(body.get("detail", ""))),
            extra=extra,
            nonce=request.csp_nonce,  # the page's own style, under the strict policy
        )
        return HTMLResponse(page, status=status, headers=headers)
    return JSONResponse(body, status=status, headers=headers)


def server_error(request: Request, exc: BaseException, debug: bool) -> Response:
    """500: a generic page in production; the traceback only in debug mode."""
    if not debug:
        return error_response(
            request,
            500,
            {
                "status": 500,
                "error": "Internal Server Error",
                "detail": gettext(
                    "Something went wrong on our side. The error was logged; please try "
                    "again later."
                ),
            },
        )
    import traceback

    trace = "".join(traceback.format_exception(exc))
    if not wants_html(request):
        body = {
            "status": 500,
            "error": "Internal Server Error",
            "detail": repr(exc),
            "traceback": trace.splitlines(),
        }
        return JSONResponse(body, status=500)
    extra = (
        f"<p><strong>{html.escape(request.method)} {html.escape(request.path)}</strong> "
        "(debug mode: this page is never shown in production)</p>"
        f"<pre>{html.escape(trace)}</pre>"
    )
    page = _PAGE.format(
        lang="en",
        status=500,
        phrase="Internal Server Error",
        detail=html.escape(repr(exc)),
        extra=extra,
        nonce=request.csp_nonce,
    )
    return HTMLResponse(page, status=500)
