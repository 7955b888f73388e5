<% data_migration = context.get("kettle_data", False) %>\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

import sqlalchemy as sa
from alembic import op
% if data_migration:

from kettle.db.migrations import data
% endif
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
% if data_migration:
    # A data migration: rows are read and written on the migration's connection, inside
    # its transaction. Describe tables as they are at this revision rather than importing
    # your models (they will have changed by the time a new database replays this file):
    #
    #     article = sa.table("article", sa.column("id"), sa.column("title"), sa.column("slug"))
    #     for rows in data.batches(sa.select(article.c.id, article.c.title)):
    #         data.bulk_update(article, [{"id": r.id, "slug": slugify(r.title)} for r in rows])
    #
    # ORM code runs in `with data.session() as session:`; plain SQL in op.execute("...").
    pass
% else:
    ${upgrades if upgrades else "pass"}
% endif


def downgrade() -> None:
% if data_migration:
    # Undo the data change if it can be undone; leave `pass` if it needs no undoing.
    pass
% else:
    ${downgrades if downgrades else "pass"}
% endif
