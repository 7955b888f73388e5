"""``I18n``: the battery that picks each request's language and translates into it.

::

    app = App()
    i18n = I18n(app, languages=["en", "fr", "de", "es"], default="en")

Each request's language is chosen by ``selectors``, in order: ``"url"`` (a ``/fr/...``
prefix, removed before routing), ``"cookie"`` (the ``language`` cookie), ``"user"``
(``request.user.language``, with kettle.auth) and ``"header"`` (``Accept-Language``),
else ``default``. ``gettext``/``_()``, templates' ``{% trans %}`` and the ``format_*``
functions then use it; responses say it in ``Content-Language`` and ``Vary``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.core import Locale, UnknownLocaleError

from kettle.exceptions import ConfigurationError
from kettle.i18n import formatting
from kettle.i18n._catalogues import load
from kettle.i18n._gettext import ACTIVE, Active
from kettle.i18n.negotiation import negotiate
from kettle.routing import LANGUAGE_SPAN

if TYPE_CHECKING:
    from kettle._types import Message, Receive, Scope, Send
    from kettle.app import App
    from kettle.requests import Request
    from kettle.responses.base import Response

#: The selectors ``I18n`` knows, in their default order.
SELECTORS = ("url", "cookie", "user", "header")
#: The scope key holding the chosen language (the page cache keys pages by it).
SCOPE_KEY = "kettle.language"
_USER_PENDING = "kettle.language.user"
_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")


class I18n:
    """Translations and locale formatting for ``app`` (see the module docstring).

    ``languages`` and ``default`` come from the settings when not given
    (``KETTLE_LANGUAGES=en,fr``, ``KETTLE_LANGUAGE=en``); the first language is the
    default otherwise. Catalogues are read from ``<app root>/locale`` (``locale=``),
    over Kettle's own::

        i18n = I18n(app, languages=["en", "fr"], selectors=("cookie", "header"))
    """

    def __init__(
        self,
        app: App,
        languages: Sequence[str] | None = None,
        default: str | None = None,
        *,
        selectors: Sequence[str] = SELECTORS,
        cookie: str = "language",
        locale: str | Path | None = "locale",
    ) -> None:
        settings = app.settings
        codes = [c.strip().lower() for c in languages or settings.languages or ["en"]]
        for code in codes:
            if not _TAG.fullmatch(code):
                raise ConfigurationError(
                    f"I18n: {code!r} is not a language tag; use one such as 'fr' or 'pt-br'."
                )
            try:
                Locale.parse(code, sep="-")
            except (ValueError, UnknownLocaleError):
                raise ConfigurationError(
                    f"I18n: Babel knows no language {code!r} (its dates and numbers could not "
                    "be formatted); check the tag, such as 'de' or 'pt-br'."
                ) from None
        default = (default or settings.language or codes[0]).lower()
        if default not in codes:
            raise ConfigurationError(
                f"I18n: the default language {default!r} is not one of the languages "
                f"{codes}; add it to them (KETTLE_LANGUAGES) or choose another."
            )
        unknown = [s for s in selectors if s not in SELECTORS]
        if unknown:
            raise ConfigurationError(
                f"I18n: unknown selector {unknown[0]!r}; the selectors are {list(SELECTORS)}."
            )
        self.app = app
        #: The languages served (lower-case tags), the default first.
        self.languages: tuple[str, ...] = (default, *(c for c in codes if c != default))
        self.default = default
        self.selectors = tuple(selectors)
        self.cookie = cookie
        folder = None if locale is None else app.root / locale
        #: Where the app's own catalogues are (``<lang>/LC_MESSAGES/messages.po``).
        self.locale_folder: Path | None = folder
        self._catalogues: dict[str, Any] = {}
        self._actives: dict[tuple[str, str, tuple[str, ...]], Active] = {}
        # PERF: Accept-Language values repeat; each one is negotiated once.
        self._negotiated: dict[str, str | None] = {}
        app.state.i18n = self
        app.add_middleware(_LanguageMiddleware, i18n=self)
        if "user" in self.selectors:
            app.before_request(self._choose_by_user)
        app.on_response(self._label)
        app.on_startup(self._startup)
        for name in formatting.__all__:
            function = getattr(formatting, name)
            app.template_globals[name] = function
            # NOTE: Jinja2 may run a filter on a constant when it compiles the template;
            # each language compiles its own copy (kettle.i18n._jinja), so that is right.
            app.template_filters[name] = function

    # --- languages -------------------------------------------------------------------
    def catalogue(self, code: str) -> Any:
        """The merged catalogue of ``code`` (the app's, then Kettle's), loaded once."""
        catalogue = self._catalogues.get(code)
        if catalogue is None:
            catalogue = self._catalogues[code] = load(code, self.locale_folder)
        return catalogue

    def active(self, code: str, prefix: str = "", vary: tuple[str, ...] = ()) -> Active:
        """The ``Active`` for ``code`` reached through URL ``prefix`` (made once each)."""
        key = (code, prefix, vary)
        found = self._actives.get(key)
        if found is None:
            locale = Locale.parse(code, sep="-")
            found = Active(code, self.catalogue(code), locale, prefix, vary)
            self._actives[key] = found
        return found

    @contextlib.contextmanager
    def language(self, code: str) -> Iterator[Active]:
        """Translate into ``code`` inside the block (a mail in its reader's language)::

        with i18n.language(user.language or i18n.default):
            send_mail(subject=_("Your order has shipped"), ...)
        """
        code = code.lower()
        if code not in self.languages:
            raise ValueError(f"{code!r} is not one of this app's languages {list(self.languages)}.")
        token = ACTIVE.set(self.active(code))
        try:
            yield ACTIVE.get()
        finally:
            ACTIVE.reset(token)

    def url_for(self, name: str, /, **params: Any) -> str:
        """``app.url_for`` with the request's language prefix (``/fr``) kept, for code
        that has no request at hand. ``request.url_for`` and templates' ``url_for``
        keep it too, with a mount's or proxy's root path as well::

            i18n.url_for("article", id=7)   # "/fr/articles/7" on a /fr/... page
        """
        path = self.app.url_for(name, **params)
        if name == "static" or name.endswith(".static"):
            return path  # one URL per file, whatever the language: caches keep one copy
        return ACTIVE.get().prefix + path

    # --- choosing --------------------------------------------------------------------
    def choose(self, scope: Scope) -> tuple[Active, Scope]:
        """The language of a request from its scope, and the scope to route (without the
        language prefix). The ``"user"`` selector is left to a before-request hook."""
        vary: list[str] = []
        code = None
        prefix = ""
        pending_user = False
        for selector in self.selectors:
            if selector == "url":
                code, scope = self._from_path(scope)
                if code is not None:
                    prefix = "/" + code
            elif selector == "cookie":
                vary.append("Cookie")
                code = self._from_cookie(scope)
            elif selector == "user":
                vary.append("Cookie")
                pending_user = True
            else:
                vary.append("Accept-Language")
                code = self._from_header(scope)
            if code is not None:
                break
        names = tuple(dict.fromkeys(vary))
        chosen = self.active(code or self.default, prefix, names)
        scope[SCOPE_KEY] = chosen.code
        if pending_user:
            scope[_USER_PENDING] = True
        return chosen, scope

    def _from_path(self, scope: Scope) -> tuple[str | None, Scope]:
        path: str = scope["path"]
        end = path.find("/", 1)
        head = path[1:end] if end > 0 else path[1:]
        if head not in self.languages:
            return None, scope
        scope = dict(scope)
        cut = len(head) + 1
        scope["path"] = path[cut:] or "/"
        raw = scope.get("raw_path")
        if raw is not None:
            scope["raw_path"] = raw[cut:] or b"/"
        root = scope.get("root_path", "")
        scope["root_path"] = root + "/" + head
        # Links to files leave the language out of their root path (routing.files_root).
        scope[LANGUAGE_SPAN] = (len(root), len(root) + cut)
        return head, scope

    def _from_cookie(self, scope: Scope) -> str | None:
        needle = self.cookie.encode("latin-1") + b"="
        for name, value in scope["headers"]:
            if name == b"cookie" and needle in value:
                for part in value.split(b";"):
                    key, _, code = part.strip().partition(b"=")
                    if key == needle[:-1]:
                        text: str = code.decode("latin-1").strip().lower()
                        if text in self.languages:
                            return text
        return None

    def _from_header(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"accept-language":
                header = value.decode("latin-1")
                try:
                    return self._negotiated[header]
                except KeyError:
                    code = negotiate(header, self.languages)
                    if len(self._negotiated) < 1000:
                        self._negotiated[header] = code
                    return code
        return None

    async def _choose_by_user(self, request: Request) -> None:
        if not request.scope.get(_USER_PENDING):
            return
        user = getattr(request.state, "user", None)
        code = getattr(user, "language", "") if user is not None else ""
        if code and code.lower() in self.languages:
            current = ACTIVE.get()
            ACTIVE.set(self.active(code.lower(), current.prefix, current.vary))
            request.scope[SCOPE_KEY] = code.lower()

    def _label(self, request: Request, response: Response) -> None:
        active = ACTIVE.get()
        if not active.code:
            return
        response.set_header("content-language", active.code)
        if active.vary:
            present = {
                v.strip().lower()
                for k, value in response.raw_headers
                if k == b"vary"
                for v in value.decode("latin-1").split(",")
            }
            for name in active.vary:
                if name.lower() not in present:
                    response.add_header("vary", name)

    async def _startup(self) -> None:
        # Catalogues are read at start-up, not by the first request in each language.
        for code in self.languages:
            self.active(code)
        hooks = [getattr(h, "__name__", "") for h in self.app.before_hooks]
        user = "user" in self.selectors and "authenticate_request" in hooks
        if user and hooks.index("authenticate_request") > hooks.index("_choose_by_user"):
            raise ConfigurationError(
                "I18n(app) was created before Auth(app): the 'user' selector needs "
                "request.user. Create I18n after Auth."
            )


class _LanguageMiddleware:
    """Sets the request's language (``I18n.choose``) around the whole app, so error
    pages are translated too; strips the ``/fr`` prefix before routing, and puts it back
    on the app's redirects (``Location: /admin/`` -> ``/fr/admin/``)."""

    def __init__(self, app: Any, *, i18n: I18n) -> None:
        self.app = app
        self.i18n = i18n

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        chosen, scope = self.i18n.choose(scope)
        token = ACTIVE.set(chosen)
        try:
            if chosen.prefix:
                send = self._prefixing(send, root.encode("latin-1"), chosen.prefix.encode())
            await self.app(scope, receive, send)
        finally:
            ACTIVE.reset(token)

    def _prefixing(self, send: Send, root: bytes, prefix: bytes) -> Send:
        languages = {code.encode("ascii") for code in self.i18n.languages}

        async def send_prefixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message["headers"]
                for index, (name, value) in enumerate(headers):
                    if name.lower() == b"location" and _local_path(value, root, languages):
                        headers = list(headers)
                        rest = value[len(root) :]
                        headers[index] = (name, root + prefix + rest)
                        message = {**message, "headers": headers}
                        break
            await send(message)

        return send_prefixed


def _local_path(location: bytes, root: bytes, languages: set[bytes]) -> bool:
    """Whether a redirect goes to a path of this app (under ``root``, the root path the
    request came with, before its language) that names no language: ``/admin/``, not
    ``/fr/admin/`` (which ``request.url_for`` gives on a French page)."""
    if not location.startswith(b"/") or location.startswith(b"//"):
        return False  # a full URL, or another host
    if root:
        after = location[len(root) : len(root) + 1]
        if not location.startswith(root) or after not in (b"/", b"?", b""):
            return False  # outside the app
        location = location[len(root) :] or b"/"
    head = location[1:].split(b"/", 1)[0].split(b"?", 1)[0]
    return head not in languages


__all__ = ["SCOPE_KEY", "SELECTORS", "I18n"]
