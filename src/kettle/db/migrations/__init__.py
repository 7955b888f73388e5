"""Migrations for ``kettle.db``: ``kettle db`` commands on Alembic, configured from the app.

::

    kettle db makemigrations -m "add article"    # creates migrations/ next to the app
    kettle db migrate
    kettle db check                              # in CI: exit 1 if a migration is missing

There is no ``alembic.ini`` and no env script to maintain: the app's ``Database`` gives the
URL and the models, and Kettle provides the environment. Autogenerate compares types,
server defaults and enum members, and asks before dropping what may be a rename::

    Did you rename article.title to article.headline? [y/N]

(``--rename article.title=article.headline`` answers in advance.) From code::

    from kettle.db.migrations import Migrations

    Migrations(db).migrate()
"""

from kettle.db.migrations.commands import Migrations, Revision
from kettle.db.migrations.errors import MigrationError
from kettle.db.migrations.renames import RenameHints, Renamer, parse_hints

__all__ = ["MigrationError", "Migrations", "RenameHints", "Renamer", "Revision", "parse_hints"]
