"""OpenAPI 3.1 from typed handlers, and an interactive ``/docs`` page.

The document is made from the routes, once: path, query, header and cookie parameters
with their constraints, JSON, form and multipart bodies, responses from the return
annotations (plus ``responses=``), the 422 body, security on guarded routes, tags from
route groups, summaries from docstrings. In development (``KETTLE_ENV=development``, as
``kettle run`` sets) every app serves it at ``/openapi.json`` and ``/docs`` with no code
at all; elsewhere only when the app asks::

    from kettle.openapi import OpenAPI

    OpenAPI(app, title="Weather", version="1.2.0", serve=True)   # production too

``/docs`` is Swagger UI, served from a Python package (no CDN): it works offline and
under a strict Content-Security-Policy. ``kettle openapi app.py -o openapi.json`` writes
the document without serving anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kettle.app import App


class OpenAPI:
    """The OpenAPI document of ``app``, its ``info`` and where it is served.

    ``serve``: None serves it in development only, True everywhere (production too),
    False never (``document()`` and ``kettle openapi`` still work); ``paths`` keeps the
    routes under those prefixes only::

        OpenAPI(app, title="Kettle News API", version="1.0.0", paths=["/api/"])
    """

    def __init__(
        self,
        app: App,
        *,
        title: str = "API",
        version: str = "0.1.0",
        description: str | None = None,
        servers: Sequence[str] = (),
        paths: Sequence[str] = (),
        json_url: str = "/openapi.json",
        docs_url: str | None = "/docs",
        serve: bool | None = None,
    ) -> None:
        from kettle.exceptions import ConfigurationError

        for name, url in (("json_url", json_url), ("docs_url", docs_url)):
            if url is not None and (not url.startswith("/") or url.endswith("/")):
                raise ConfigurationError(
                    f"OpenAPI({name}={url!r}): the path must start with '/' and not end "
                    "with one, such as '/docs'."
                )
        if serve and app.frozen:
            raise ConfigurationError(
                f"OpenAPI({app.name!r}, serve=True) comes after the app started, too late to "
                "add its routes: create it at import time, next to App()."
            )
        self.app = app
        #: ``info.title`` of the document.
        self.title = title
        #: ``info.version``: the version of your API (not of OpenAPI or Kettle).
        self.version = version
        #: ``info.description`` (Markdown), shown at the top of ``/docs``.
        self.description = description
        #: Base URLs the API is served at (``["https://api.example.com"]``); none: this host.
        self.servers = tuple(servers)
        #: Path prefixes to document (``["/api/"]``: the JSON API, not the HTML pages);
        #: none: every route.
        self.paths = tuple(paths)
        #: Where the JSON document is served.
        self.json_url = json_url
        #: Where the interactive page is served; None: no page, only the JSON.
        self.docs_url = docs_url
        #: Whether they are served: None in development only, True always, False never.
        self.serve = serve
        self._document: dict[str, Any] | None = None
        app.state.openapi = self

    def serves(self) -> bool:
        """Whether the app serves the document: ``OpenAPI(app).serves()`` is True in
        development."""
        if self.serve is not None:
            return self.serve
        return self.app.settings.env == "development"

    def document(self) -> dict[str, Any]:
        """The document as a dict, made once (building the app if needed)::

        doc = OpenAPI(app).document()
        doc["paths"]["/weather/{city}"]["get"]["operationId"]   # "weather"
        """
        if self._document is None:
            from kettle.openapi._document import build

            self._document = build(self.app, self)
        return self._document


def openapi_of(app: App) -> OpenAPI:
    """The app's ``OpenAPI`` (a default one when the app made none)::

    document = openapi_of(app).document()
    """
    found = getattr(app.state, "openapi", None)
    return found if isinstance(found, OpenAPI) else OpenAPI(app)


def install(app: App) -> None:
    """Add the ``/openapi.json`` and ``/docs`` routes when the app serves them; the app
    calls this while it is built, before its routes are compiled."""
    options = openapi_of(app)
    if options.serves():
        from kettle.openapi._serve import add_routes

        add_routes(app, options)


__all__ = ["OpenAPI", "install", "openapi_of"]
