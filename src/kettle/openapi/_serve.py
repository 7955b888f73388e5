"""``/openapi.json`` and ``/docs``: the document, and Swagger UI served from a package.

The page has no inline script or style: Swagger UI's files come from the
``openapi-ui-bundles`` package and the few lines that start it from ``static/docs.js``,
both under the app's own origin, so the page works offline and under the strict
Content-Security-Policy it is sent with.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from kettle.exceptions import ConfigurationError
from kettle.requests import Request
from kettle.responses.base import HTMLResponse, Response
from kettle.routing import files_root

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.openapi import OpenAPI
    from kettle.scaffold import Scaffold

_STATIC = Path(__file__).parent / "static"

#: Scripts and styles from this origin only: no inline code, no CDN.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{ui}/swagger-ui.css">
<link rel="stylesheet" href="{own}/docs.css">
<link rel="icon" type="image/png" href="{ui}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-url="{url}" data-csrf="{csrf}"></div>
<script src="{ui}/swagger-ui-bundle.js"></script>
<script src="{own}/docs.js"></script>
</body>
</html>
"""


def _taken(app: App) -> set[str]:
    """Every path the app's routes and mounts use, group prefixes included."""
    out: set[str] = set()

    def walk(owner: Scaffold, prefix: str) -> None:
        prefix += owner.prefix
        out.update(prefix + path for path, *_ in owner.routes)
        out.update(prefix + mount for mount, *_ in owner.mounts)
        for group in owner.groups:
            walk(group, prefix)

    walk(app, "")
    return out


def add_routes(app: App, options: OpenAPI) -> None:
    """Serve the document at ``options.json_url`` and the page at ``options.docs_url``.

    A path the app already uses is left to the app when serving was not asked for
    (development's default), and is a ``ConfigurationError`` when it was.
    """
    taken = _taken(app)
    wanted = {"json_url": options.json_url, "docs_url": options.docs_url}
    for name, url in wanted.items():
        if url is not None and url in taken:
            if options.serve is not None:
                raise ConfigurationError(
                    f"OpenAPI({name}={url!r}): the app already has a route at {url}; pass "
                    f"another {name}= to OpenAPI(app, ...)."
                )
            wanted[name] = None  # development's default gives way to the app's own route
    json_url, docs_url = wanted["json_url"], wanted["docs_url"]
    if json_url is None:
        return

    cached: list[bytes] = []

    def openapi_json() -> Response:
        # PERF: the document is made and encoded once, on the first request.
        if not cached:
            import msgspec

            cached.append(msgspec.json.encode(options.document()))
        return Response(cached[0], media_type="application/json")

    app.route(json_url, name="openapi_json", include_in_schema=False)(openapi_json)
    if docs_url is None:
        return
    from openapi_ui_bundles import swagger_ui

    from kettle.staticfiles import StaticFiles

    ui, own = docs_url + "/swagger-ui", docs_url + "/kettle"
    app.mount(ui, StaticFiles(swagger_ui.static_path), name="openapi_swagger_ui")
    app.mount(own, StaticFiles(_STATIC), name="openapi_static")
    title = html.escape(f"{options.title} {options.version}")

    def openapi_docs(request: Request) -> Response:
        from kettle.csrf import get_token

        # Literal paths, not url_for: the request's root path goes in front; the files'
        # without a language prefix (one URL, cached once, in every language).
        root = html.escape(request.root_path)
        files = html.escape(files_root(request.scope))
        page = _PAGE.format(
            title=title,
            ui=files + ui,
            own=files + own,
            url=root + html.escape(json_url),
            csrf=html.escape(get_token(request)),
        )
        return HTMLResponse(
            page,
            headers={"content-security-policy": CSP, "cache-control": "no-store"},
        )

    app.route(docs_url, name="openapi_docs", include_in_schema=False)(openapi_docs)
