"""The app the account page's browser test serves (``account_server:app``): two-factor
authentication and passkeys installed; ``authbrowser.serving`` makes its tables first."""

from __future__ import annotations

from authbrowser import served_site

from kettle.auth.passkeys import Passkeys
from kettle.auth.twofactor import TwoFactor

site = served_site()
TwoFactor(site.auth)
Passkeys(site.auth)
app = site.app
