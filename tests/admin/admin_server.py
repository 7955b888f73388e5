"""The admin app the browser tests serve with a real server (``admin_server:app``).

The test creates the tables and the users first; the URL of the database comes in
``KETTLE_TEST_ADMIN_DB`` and the app's root folder in ``KETTLE_TEST_ADMIN_ROOT``. With
``KETTLE_TEST_ADMIN_FIELDSETS=1`` posts get ``FieldsetPostAdmin`` (a form in sections).
"""

from __future__ import annotations

import os
from pathlib import Path

from adminsite import FieldsetPostAdmin, Post, make_site

site = make_site(
    Path(os.environ.get("KETTLE_TEST_ADMIN_ROOT", ".")), os.environ["KETTLE_TEST_ADMIN_DB"]
)
if os.environ.get("KETTLE_TEST_ADMIN_FIELDSETS") == "1":
    site.admin.register(Post, FieldsetPostAdmin)
app = site.app
