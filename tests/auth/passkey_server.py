"""The app the passkey browser tests serve with a real server (``passkey_server:app``);
``authbrowser.serving`` makes its tables and users first."""

from __future__ import annotations

from authbrowser import served_site

from kettle.auth.passkeys import Passkeys

site = served_site()
Passkeys(site.auth)
app = site.app
