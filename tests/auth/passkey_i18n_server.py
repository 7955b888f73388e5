"""The app the French passkey browser tests serve (``passkey_i18n_server:app``): passkeys
and Kettle's pages in English, French, German and Spanish; ``authbrowser.serving`` makes
its tables and users first."""

from __future__ import annotations

from authbrowser import served_site

from kettle.auth.passkeys import Passkeys
from kettle.i18n import I18n

site = served_site()
Passkeys(site.auth)
I18n(site.app, languages=["en", "fr", "de", "es"])
app = site.app
