"""The app the i18n browser test serves with a real server (``i18n_admin_server:app``):
the test creates the tables and users first; the database URL comes in
``KETTLE_TEST_I18N_DB`` and the app's folder in ``KETTLE_TEST_I18N_ROOT``."""

from __future__ import annotations

import os
from pathlib import Path

from i18nadmin import make_site

app = make_site(Path(os.environ["KETTLE_TEST_I18N_ROOT"]), os.environ["KETTLE_TEST_I18N_DB"]).app
