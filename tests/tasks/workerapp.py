"""The app the worker-process tests run: ``kettle worker workerapp.py``.

Its database is ``KETTLE_TASKS_TEST_DB``; the lease (visibility timeout) in seconds is
``KETTLE_TASKS_TEST_LEASE``; the tasks are ``workertasks``'s.
"""

from __future__ import annotations

import os

import workertasks  # noqa: F401 - defines the tasks

from kettle import App
from kettle.db import Database
from kettle.tasks import Tasks

app = App()
db = Database(app, url=os.environ["KETTLE_TASKS_TEST_DB"])
tasks = Tasks(app, visibility_timeout=float(os.environ.get("KETTLE_TASKS_TEST_LEASE", "30")))
