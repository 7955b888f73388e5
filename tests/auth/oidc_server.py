"""The app the sign-in-provider browser test serves with a real server (``oidc_server:app``);
``authbrowser.serving`` makes its tables first, and the test runs the provider
(``kettle.auth.oidc.devprovider``), whose address comes in ``KETTLE_TEST_OIDC_PROVIDER``."""

from __future__ import annotations

import os

from authbrowser import served_site

from kettle.auth.oidc import Providers
from kettle.auth.oidc.devprovider import acme_at, github_at

site = served_site()
provider_url = os.environ["KETTLE_TEST_OIDC_PROVIDER"]
Providers(site.auth, [acme_at(provider_url, title="Acme"), github_at(provider_url)])
app = site.app
