"""Jinja2 environments with autoescaping, per-group folders and Kettle's helpers built in.

Loaded on the first render, so apps that serve only JSON never import Jinja2.

Inside a template: ``url_for(name, **params)`` and ``static(path)`` (under the request's
root path, as ``request.url_for``), ``csrf_token()``,
``csrf_input()``, ``get_flashed_messages()``, ``csp_nonce()`` and ``request``; the
translation tags of Jinja2's i18n extension (``{% trans %}``, ``_()``, ``ngettext()``),
in the language kettle.i18n chose, and ``current_language()``. An undefined variable is
an error in development and testing (``{{ x | default("") }}`` allows one), empty in
production.
Compiled templates are kept on disk (``Settings.template_cache``), so workers start warm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from kettle import timezones
from kettle._template_cache import bytecode_cache
from kettle.csrf import FIELD_NAME, get_token
from kettle.i18n._gettext import current_language, gettext, ngettext, npgettext, pgettext
from kettle.i18n._jinja import Environment
from kettle.requests import Request
from kettle.routing import files_root
from kettle.sessions import get_flashed_messages

if TYPE_CHECKING:
    from kettle.app import App
    from kettle.scaffold import Scaffold


def _input(token: str) -> Markup:
    # PERF: the token is URL-safe base64 and the name a constant: nothing to escape, and
    # Markup.format's escaping formatter cost more than the rest of a form's row.
    return Markup(f'<input type="hidden" name="{FIELD_NAME}" value="{token}">')


def request_helpers(request: Request) -> dict[str, Any]:
    """The template helpers that need the request, bound to ``request``: ``url_for`` and
    ``static`` (under the request's root path, as ``request.url_for``), ``csrf_token``,
    ``csrf_input``, ``get_flashed_messages`` and ``csp_nonce``. Kettle adds them to the
    variables of every page it renders; a renderer of its own adds them the same way::

        html = env.get_template("page.html").render({**request_helpers(request), **values})
    """

    # PERF: Jinja2 calls a @pass_context helper that sits inside a loop or a block with a
    # derived copy of the whole context, on every call: a list page paid that for each
    # row's form. Closures over the request are plain calls; building them costs about a
    # microsecond per render.
    def csrf_token() -> str:
        return get_token(request)

    def csrf_input() -> Markup:
        return _input(get_token(request))

    def flashed(with_categories: bool = False) -> list[Any]:
        return get_flashed_messages(request, with_categories=with_categories)

    def csp_nonce() -> str:
        return request.csp_nonce

    return {
        **_url_helpers(request),
        "csrf_token": csrf_token,
        "csrf_input": csrf_input,
        "get_flashed_messages": flashed,
        "csp_nonce": csp_nonce,
    }


def _url_helpers(request: Request) -> dict[str, Any]:
    app = request.app
    scope = request.scope
    root: str = scope.get("root_path", "")
    # PERF: at the site's root, links are the app's paths: its own methods, no wrapper.
    # Under a root path the roots are read once per render; a link then costs a set
    # lookup and a string concatenation more than app.url_for.
    if not root:
        return {"url_for": app.url_for, "static": app.static_url}
    app.build()  # at once when built, as in a request
    files = app.router.files
    build = app.url_for
    static_url = app.static_url
    files_at = files_root(scope)

    def url_for(name: str, /, **params: Any) -> str:
        return (files_at if name in files else root) + build(name, **params)

    def static(path: str) -> str:
        return files_at + static_url(path)

    return {"url_for": url_for, "static": static}


# The same helpers for renders that did not add request_helpers (an environment used
# directly): they find the request among the template's variables, more slowly.
def _fallback_urls(app: App) -> tuple[Any, Any]:
    # A template's ``url_for``/``static`` outside request_helpers: the request's when
    # the template has one among its variables, else the app's (a mail, a macro file
    # imported without context, a fragment rendered for every reader with a stand-in).
    @jinja2.pass_context
    def url_for(context: jinja2.runtime.Context, name: str, /, **params: Any) -> str:
        request = context.get("request")
        if isinstance(request, Request):
            return request.url_for(name, **params)
        return app.url_for(name, **params)

    @jinja2.pass_context
    def static(context: jinja2.runtime.Context, path: str) -> str:
        request = context.get("request")
        url = app.static_url(path)
        return files_root(request.scope) + url if isinstance(request, Request) else url

    return url_for, static


@jinja2.pass_context
def _csrf_token(context: jinja2.runtime.Context) -> str:
    return get_token(context["request"])


@jinja2.pass_context
def _csrf_input(context: jinja2.runtime.Context) -> Markup:
    return _input(get_token(context["request"]))


@jinja2.pass_context
def _csp_nonce(context: jinja2.runtime.Context) -> str:
    return context["request"].csp_nonce  # type: ignore[no-any-return]


@jinja2.pass_context
def _flashed(context: jinja2.runtime.Context, with_categories: bool = False) -> list[Any]:
    return get_flashed_messages(context["request"], with_categories=with_categories)


class Templates:
    """The app's Jinja2 environments: one per template folder set, built at start-up."""

    def __init__(self, app: App) -> None:
        self.app = app
        #: Where compiled templates are kept between runs (``Settings.template_cache``);
        #: None when they are not.
        self.bytecode_cache: jinja2.BytecodeCache | None = bytecode_cache(app)
        self._envs: dict[int, jinja2.Environment] = {}
        self._default = self._environment(app)

    def _environment(self, owner: Scaffold) -> jinja2.Environment:
        folders = [f for f in (owner.template_folder, self.app.template_folder) if f is not None]
        unique = list(dict.fromkeys(str(f) for f in folders))
        settings = self.app.settings
        # NOTE: tests render as strictly as development does: a typo that development
        # shows as a 500 must fail the test suite too. Only production forgives it.
        strict = settings.is_debug or settings.env != "production"
        # Compiles one copy of each template per language (kettle.i18n._jinja).
        env = Environment(
            loader=jinja2.FileSystemLoader(unique),
            autoescape=True,
            undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
            auto_reload=settings.is_debug,
            bytecode_cache=self.bytecode_cache,
            # {% trans %} and _() in every template, Kettle's own included (kettle.i18n).
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
            gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
        )
        url_for, static = _fallback_urls(self.app)
        env.globals.update(
            # NOTE: renders with a request bring faster url_for/static bound to it
            # (request_helpers); these globals serve the others.
            url_for=url_for,
            static=static,
            csrf_token=_csrf_token,
            csrf_input=_csrf_input,
            get_flashed_messages=_flashed,
            csp_nonce=_csp_nonce,
            current_language=current_language,
        )
        env.globals.update(self.app.template_globals)
        env.filters.update(timezones.template_filters())  # localtime, local_datetime
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
        """Render ``name`` with ``context``, looking in ``owner``'s folder first; a
        ``request`` in ``context`` brings its helpers (``request_helpers``) along."""
        template = self.environment(owner).get_template(name)
        request = context.get("request")
        if request is not None:
            context = {**request_helpers(request), **context}
        return template.render(context)

    def render_string(self, name: str, /, **context: Any) -> str:
        """Render a template of the app to a string (for e-mails, fragments, tests)::

        html = app.templates.render_string("mail/welcome.html", user=user)
        """
        return self.render(name, context)


__all__ = ["Templates", "request_helpers"]
