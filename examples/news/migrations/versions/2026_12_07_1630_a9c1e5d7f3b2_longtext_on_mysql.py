"""text columns as LONGTEXT on MySQL and MariaDB

Revision ID: a9c1e5d7f3b2
Revises: 8635e81ef6ac
Create Date: 2026-12-07 16:30:00.000000

``fields.text`` is ``LONGTEXT`` on MySQL and MariaDB now: their ``TEXT`` holds 64 KB, too
little for a task's arguments or a long article. PostgreSQL's and SQLite's ``TEXT`` has no
such limit, so there this revision does nothing.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "a9c1e5d7f3b2"
down_revision = "8635e81ef6ac"
branch_labels = None
depends_on = None

#: (table, column, nullable) of every ``fields.text`` column of the site.
COLUMNS = [
    ("article", "body", False),
    ("auth_user_passkey", "public_key", False),
    ("comment", "body", False),
    ("kettle_admin_log", "message", False),
    ("kettle_tasks", "payload", False),
    ("kettle_tasks", "result", True),
    ("kettle_tasks", "error", True),
    ("kettle_tasks", "traceback", True),
    ("news_ranking", "ids", False),
]


def _on_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _retype(to: sa.types.TypeEngine[str], existing: sa.types.TypeEngine[str]) -> None:
    if not _on_mysql():
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, type_=to, existing_type=existing, existing_nullable=nullable)


def upgrade() -> None:
    _retype(mysql.LONGTEXT(), sa.Text())


def downgrade() -> None:
    # Fails (or truncates, outside strict mode) where a value outgrew 64 KB meanwhile.
    _retype(sa.Text(), mysql.LONGTEXT())
