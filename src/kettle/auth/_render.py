"""Rendering the auth pages and e-mails: the project's templates first, then ours.

A project overrides any page by putting a file of the same name in its own templates
folder: ``templates/auth/base.html`` restyles every auth page at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from kettle.responses.template import Template

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environments(app: App) -> tuple[jinja2.Environment, jinja2.Environment]:
    """The HTML and the plain-text environments (made once per app)."""
    cached: tuple[jinja2.Environment, jinja2.Environment] | None = getattr(
        app.state, "auth_templates", None
    )
    if cached is None:
        base = app.templates.environment()
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(TEMPLATES))]
        if base.loader is not None:
            loaders.insert(0, base.loader)
        loader = jinja2.ChoiceLoader(loaders)
        cached = (base.overlay(loader=loader), base.overlay(loader=loader, autoescape=False))
        app.state.auth_templates = cached
    return cached


class AuthTemplate(Template):
    """A page rendered with the project's templates first, then kettle.auth's."""

    def render_with(self, request: Request) -> None:
        html, _ = _environments(request.app)
        context = {**self.context, "request": request}
        self.body = html.get_template(self.template_name).render(context).encode(self.charset)
        self.set_header("content-length", str(len(self.body)))
        self.rendered = True


def render(
    name: str, /, status: int = 200, headers: Mapping[str, str] | None = None, **context: Any
) -> AuthTemplate:
    """``kettle.render`` for the auth pages: ``render("auth/login.html", form=...)``."""
    return AuthTemplate(name, context, status=status, headers=headers)


def render_text(app: App, name: str, /, **context: Any) -> str:
    """A plain-text template (an e-mail), not HTML-escaped."""
    _, text = _environments(app)
    return text.get_template(name).render(context)
