"""Jinja2 environments with autoescaping, per-group folders and Kettle's helpers built in.

Loaded on the first render, so apps that serve only JSON never import Jinja2.

Inside a template: ``url_for(name, **params)``, ``static(path)``, ``csrf_token()``,
``csrf_input()``, ``get_flashed_messages()`` and ``request``. An undefined variable is an
error in development and testing (``{{ x | default("") }}`` allows one), empty in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.scaffold import Scaffold


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **params: Any) -> str:
    return context["request"].url_for(name, **params)  # type: ignore[no-any-return]


@jinja2.pass_context
def _static(context: jinja2.runtime.Context, path: str) -> str:
    return context["request"].app.static_url(path)  # type: ignore[no-any-return]


@jinja2.pass_context
def _csrf_token(context: jinja2.runtime.Context) -> str:
    from kettle.csrf import get_token

    return get_token(context["request"])


@jinja2.pass_context
def _csrf_input(context: jinja2.runtime.Context) -> Markup:
    from kettle.csrf import FIELD_NAME, get_token

    # PERF: the token is URL-safe base64 and the name a constant: nothing to escape, and
    # Markup.format's escaping formatter cost more than the rest of a form's row.
    token = get_token(context["request"])
    return Markup(f'<input type="hidden" name="{FIELD_NAME}" value="{token}">')


@jinja2.pass_context
def _flashed(context: jinja2.runtime.Context, with_categories: bool = False) -> list[Any]:
    from kettle.sessions import get_flashed_messages

    return get_flashed_messages(context["request"], with_categories=with_categories)


class Templates:
    """The app's Jinja2 environments: one per template folder set, built at start-up."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._envs: dict[int, jinja2.Environment] = {}
        self._default = self._environment(app)

    def _environment(self, owner: Scaffold) -> jinja2.Environment:
        folders = [f for f in (owner.template_folder, self.app.template_folder) if f is not None]
        unique = list(dict.fromkeys(str(f) for f in folders))
        settings = self.app.settings
        # NOTE: tests render as strictly as development does: a typo that development
        # shows as a 500 must fail the test suite too. Only production forgives it.
        strict = settings.is_debug or settings.env != "production"
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(unique),
            autoescape=True,
            undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
            auto_reload=settings.is_debug,
        )
        env.globals.update(
            url_for=_url_for,
            static=_static,
            csrf_token=_csrf_token,
            csrf_input=_csrf_input,
            get_flashed_messages=_flashed,
        )
        env.globals.update(self.app.template_globals)
        env.filters.update(self.app.template_filters)
        return env

    def environment(self, owner: Scaffold | None = None) -> jinja2.Environment:
        """The environment that looks in ``owner``'s folder first, then the app's."""
        if owner is None or owner.template_folder is None or owner is self.app:
            return self._default
        env = self._envs.get(id(owner))
        if env is None:
            env = self._envs[id(owner)] = self._environment(owner)
        return env

    def render(self, name: str, context: Mapping[str, Any], owner: Scaffold | None = None) -> str:
        """Render ``name`` with ``context``, looking in ``owner``'s folder first."""
        return self.environment(owner).get_template(name).render(context)

    def render_string(self, name: str, /, **context: Any) -> str:
        """Render a template of the app to a string (for e-mails, fragments, tests)::

        html = app.templates.render_string("mail/welcome.html", user=user)
        """
        return self.render(name, context)


__all__ = ["Templates"]
