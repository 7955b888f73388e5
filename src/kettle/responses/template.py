"""The response a handler returns to render a template: ``return render("page.html")``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kettle._types import TESTING_EXTENSION
from kettle.responses.base import HTMLResponse

if TYPE_CHECKING:
    from kettle.requests import Request


class Template(HTMLResponse):
    """A page to render; ``render()`` returns one and the app renders it with the request.

    Rendering waits until the handler returns, so the template sees the request's
    session, CSRF token and flashed messages.
    """

    def __init__(
        self,
        name: str,
        context: Mapping[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.template_name = name
        self.context = dict(context)
        super().__init__(b"", status=status, headers=headers)
        self.rendered = False

    def render_with(self, request: Request) -> None:
        """Render now, with ``request`` and the template folders of its route group."""
        owner = request.route.owner if request.route is not None else None
        context = {**self.context, "request": request}
        rendered = request.app.templates.render(self.template_name, context, owner)
        # PERF: one dict lookup; only Kettle's test clients set the extension (no server
        # does), to read back which template a page rendered and with what context.
        testing = (request.scope.get("extensions") or {}).get(TESTING_EXTENSION)
        if testing is not None:
            testing["rendered"].append((self.template_name, context))
        self.body = rendered.encode(self.charset)
        self.set_header("content-length", str(len(self.body)))
        self.rendered = True


def render(
    name: str, /, status: int = 200, headers: Mapping[str, str] | None = None, **context: Any
) -> Template:
    """Render template ``name`` with ``context`` as the response::

    @app.get("/")
    def home():
        return render("home.html", title="Welcome")
    """
    return Template(name, context, status=status, headers=headers)


__all__ = ["Template", "render"]
