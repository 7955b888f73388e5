"""The admin's Jinja2 environment and the response that renders with it.

The environment is an overlay of the app's: the same globals (``url_for``,
``csrf_input()``...) and filters, with a loader that tries the project's template folder
before the admin's own, so a project overrides any admin template by copying it::

    templates/admin/base.html                # every admin page
    templates/admin/article/change_form.html # the article form only
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from kettle import timezones
from kettle.responses.template import Template
from kettle.templates import request_helpers

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.requests import Request


def admin_environment(app: App, folder: Path) -> jinja2.Environment:
    """An environment like ``app``'s that also finds the admin's templates in ``folder``."""
    base = app.templates.environment()
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(folder))]
    if base.loader is not None:
        loaders.insert(0, base.loader)
    env = base.overlay(loader=jinja2.ChoiceLoader(loaders))
    # NOTE: an overlay shares its parent's dicts; copies keep the admin's names private.
    env.globals = dict(base.globals)
    env.filters = dict(base.filters)
    env.globals["time_zone_name"] = lambda: timezones.current_zone().key  # the user's zone
    return env


class AdminTemplate(Template):
    """A page rendered by the admin's environment, from the first of ``names`` found::

    AdminTemplate(env, ["admin/article/change_list.html", "admin/change_list.html"], {})
    """

    def __init__(
        self,
        env: jinja2.Environment,
        names: Sequence[str],
        context: Mapping[str, Any],
        status: int = 200,
    ) -> None:
        super().__init__(names[0], context, status=status)
        self.names = list(names)
        self.env = env

    def render_with(self, request: Request) -> None:
        template = self.env.select_template(self.names)
        self.template_name = template.name or self.names[-1]
        # PERF: the helpers bound to the request (request_helpers) are plain calls; the
        # environment's globals would look the request up in the context for each link.
        rendered = template.render({**request_helpers(request), **self.context, "request": request})
        self.body = rendered.encode(self.charset)
        self.set_header("content-length", str(len(self.body)))
        self.rendered = True


__all__ = ["AdminTemplate", "admin_environment"]
