"""The app the two-factor browser tests serve with a real server (``twofactor_server:app``);
``authbrowser.serving`` makes its tables and users first."""

from __future__ import annotations

from authbrowser import served_site

from kettle.auth.twofactor import TwoFactor, TwoFactorOptions

site = served_site()
TwoFactor(site.auth, options=TwoFactorOptions(issuer="Kettle News"))
app = site.app
