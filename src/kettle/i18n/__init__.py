"""Internationalisation: translations (gettext catalogues, Babel) and locale formatting.

::

    from kettle.i18n import I18n, gettext as _

    i18n = I18n(app, languages=["en", "fr", "de", "es"])

    @app.get("/")
    def home():
        return _("Hello")

See ``I18n`` for how a request's language is chosen and docs/i18n.md for the guide.
The gettext functions are light (no Babel): Kettle's core marks its own messages with them.
"""

from kettle._lazy import lazy_getattr

_LOCATIONS = {
    "I18n": "kettle.i18n.core",
    "SELECTORS": "kettle.i18n.core",
    "LazyString": "kettle.i18n._gettext",
    "active": "kettle.i18n._gettext",
    "current_language": "kettle.i18n._gettext",
    "gettext": "kettle.i18n._gettext",
    "gettext_noop": "kettle.i18n._gettext",
    "lazy_gettext": "kettle.i18n._gettext",
    "lazy_ngettext": "kettle.i18n._gettext",
    "lazy_pgettext": "kettle.i18n._gettext",
    "ngettext": "kettle.i18n._gettext",
    "npgettext": "kettle.i18n._gettext",
    "pgettext": "kettle.i18n._gettext",
    "negotiate": "kettle.i18n.negotiation",
    "parse_accept_language": "kettle.i18n.negotiation",
    "current_locale": "kettle.i18n.formatting",
    "format_currency": "kettle.i18n.formatting",
    "format_date": "kettle.i18n.formatting",
    "format_datetime": "kettle.i18n.formatting",
    "format_decimal": "kettle.i18n.formatting",
    "format_number": "kettle.i18n.formatting",
    "format_percent": "kettle.i18n.formatting",
    "format_time": "kettle.i18n.formatting",
    "format_timedelta": "kettle.i18n.formatting",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kettle.i18n._gettext import (
        LazyString,
        active,
        current_language,
        gettext,
        gettext_noop,
        lazy_gettext,
        lazy_ngettext,
        lazy_pgettext,
        ngettext,
        npgettext,
        pgettext,
    )
    from kettle.i18n.core import SELECTORS, I18n
    from kettle.i18n.formatting import (
        current_locale,
        format_currency,
        format_date,
        format_datetime,
        format_decimal,
        format_number,
        format_percent,
        format_time,
        format_timedelta,
    )
    from kettle.i18n.negotiation import negotiate, parse_accept_language

__all__ = [
    "SELECTORS",
    "I18n",
    "LazyString",
    "active",
    "current_language",
    "current_locale",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_number",
    "format_percent",
    "format_time",
    "format_timedelta",
    "gettext",
    "gettext_noop",
    "lazy_gettext",
    "lazy_ngettext",
    "lazy_pgettext",
    "negotiate",
    "ngettext",
    "npgettext",
    "parse_accept_language",
    "pgettext",
]
__getattr__ = lazy_getattr(__name__, _LOCATIONS)


def __dir__() -> list[str]:
    return list(__all__)
