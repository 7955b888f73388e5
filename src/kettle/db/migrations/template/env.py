"""Kettle's migration environment: Alembic runs this file for every ``kettle db`` command.

Everything is configured from the app's ``Database``; see ``kettle.db.migrations.environment``.
"""

from kettle.db.migrations.environment import run_migrations

run_migrations()
