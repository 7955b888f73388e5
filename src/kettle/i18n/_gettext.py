"""The active language of a request and the gettext functions that read it.

Light on purpose: Kettle's core marks its own messages with these functions, so this
module imports neither Babel nor the standard ``gettext`` module. Without ``I18n(app)``
the active catalogue is ``UNTRANSLATED`` and every function returns its message as given.
"""

# PERF: no `from __future__ import annotations`: the core imports this module early.
from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from babel.core import Locale

    class Catalogue(Protocol):
        """What a request's translations answer (a ``babel.support.Translations``)."""

        def gettext(self, message: str, /) -> str: ...
        def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...
        def pgettext(self, context: str, message: str, /) -> str: ...
        def npgettext(self, context: str, singular: str, plural: str, n: int, /) -> str: ...


class _Untranslated:
    """The source text: what every message is before a catalogue translates it."""

    def gettext(self, message: "str", /) -> "str":
        return message

    def ngettext(self, singular: "str", plural: "str", n: "int", /) -> "str":
        return singular if n == 1 else plural

    def pgettext(self, context: "str", message: "str", /) -> "str":
        return message

    def npgettext(self, context: "str", singular: "str", plural: "str", n: "int", /) -> "str":
        return singular if n == 1 else plural


UNTRANSLATED = _Untranslated()


class Active:
    """One language as a request uses it: its code, catalogue, URL prefix and Babel locale."""

    __slots__ = ("catalogue", "code", "locale", "prefix", "vary")

    def __init__(
        self,
        code: "str",
        catalogue: "Catalogue",
        locale: "Locale | None" = None,
        prefix: "str" = "",
        vary: "tuple[str, ...]" = (),
    ) -> None:
        #: The language tag (``"fr"``, ``"pt-BR"``), as Content-Language sends it.
        self.code = code
        self.catalogue = catalogue
        #: The Babel locale formatting dates and numbers (None: not loaded yet).
        self.locale = locale
        #: ``"/fr"`` when the request's URL began with it, else ``""``.
        self.prefix = prefix
        #: The request headers the choice read (for the response's ``Vary``).
        self.vary = vary


#: The language of the running request (or of a ``with i18n.language("fr")`` block).
# NOTE: an Active is never changed once made, so one shared default is safe.
ACTIVE: "ContextVar[Active]" = ContextVar(
    "kettle_language",
    default=Active("", UNTRANSLATED),  # noqa: B039
)


def active() -> "Active":
    """The active language (code, catalogue, URL prefix), typed::

    active().code   # "fr" while a French page renders; "" when no I18n chose one
    """
    return ACTIVE.get()


def current_language() -> "str":
    """The active language's tag for ``<html lang>``: ``"en"`` when none was chosen.

    Templates have it: ``<html lang="{{ current_language() }}">``.
    """
    return ACTIVE.get().code or "en"


# PERF: each call is one context-variable read and one dict lookup in the catalogue.
def gettext(message: "str", /) -> "str":
    """``message`` translated into the active language::

    flash(request, _("Your changes were saved."))
    """
    return ACTIVE.get().catalogue.gettext(message)


def ngettext(singular: "str", plural: "str", n: "int", /) -> "str":
    """The singular or plural form for ``n``, translated (the caller fills in ``n``)::

    ngettext("%(num)d article", "%(num)d articles", n) % {"num": n}
    """
    return ACTIVE.get().catalogue.ngettext(singular, plural, n)


def pgettext(context: "str", message: "str", /) -> "str":
    """``message`` translated in ``context``, for words that translate differently::

    pgettext("verb", "Close")
    """
    return ACTIVE.get().catalogue.pgettext(context, message)


def npgettext(context: "str", singular: "str", plural: "str", n: "int", /) -> "str":
    """``ngettext`` in a context: ``npgettext("inbox", "%(num)d new", "%(num)d new", n)``."""
    return ACTIVE.get().catalogue.npgettext(context, singular, plural, n)


class LazyString:
    """A message translated each time it is used, in the language active then.

    Made by ``lazy_gettext`` at import time (module constants, field labels, form
    errors); ``str()``, formatting, ``+`` and Jinja2 output translate it::

        GREETING = lazy_gettext("Welcome")
        str(GREETING)      # "Bienvenue" while a French request runs
    """

    __slots__ = ("_args",)

    def __init__(self, *args: "Any") -> None:
        # (message,) for gettext, (context, message) for pgettext,
        # (singular, plural, n) for ngettext.
        self._args = args

    def __str__(self) -> "str":
        args = self._args
        catalogue = ACTIVE.get().catalogue
        if len(args) == 1:
            return catalogue.gettext(args[0])
        if len(args) == 2:
            return catalogue.pgettext(args[0], args[1])
        return catalogue.ngettext(args[0], args[1], args[2])

    def __html__(self) -> "str":
        from markupsafe import escape

        return str(escape(str(self)))

    def __repr__(self) -> "str":
        return f"lazy_gettext({', '.join(map(repr, self._args))})"

    def __eq__(self, other: "object") -> "bool":
        return str(self) == (str(other) if isinstance(other, LazyString) else other)

    def __hash__(self) -> "int":
        return hash(str(self))

    def __len__(self) -> "int":
        return len(str(self))

    def __add__(self, other: "str") -> "str":
        return str(self) + other

    def __radd__(self, other: "str") -> "str":
        return other + str(self)

    def __mod__(self, values: "Any") -> "str":
        text: str = str(self) % values
        return text

    def format(self, *args: "Any", **kwargs: "Any") -> "str":
        """``str(self).format(...)``."""
        return str(self).format(*args, **kwargs)

    def __getattr__(self, name: "str") -> "Any":
        # Any other str method (upper, split, startswith...) on the translated text.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(str(self), name)


def lazy_gettext(message: "str", /) -> "LazyString":
    """``gettext`` deferred until the string is used::

    class ArticleAdmin(ModelAdmin):
        title = lazy_gettext("Articles")
    """
    return LazyString(message)


def lazy_pgettext(context: "str", message: "str", /) -> "LazyString":
    """``pgettext`` deferred until the string is used."""
    return LazyString(context, message)


def lazy_ngettext(singular: "str", plural: "str", n: "int", /) -> "LazyString":
    """``ngettext`` deferred until the string is used."""
    return LazyString(singular, plural, n)


def gettext_noop(message: "str", /) -> "str":
    """Mark ``message`` for extraction without translating it now (translate it later
    with ``gettext(message)``): ``STATES = [N_("draft"), N_("published")]``."""
    return message


__all__ = [
    "ACTIVE",
    "UNTRANSLATED",
    "Active",
    "LazyString",
    "active",
    "current_language",
    "gettext",
    "gettext_noop",
    "lazy_gettext",
    "lazy_ngettext",
    "lazy_pgettext",
    "ngettext",
    "npgettext",
    "pgettext",
]
