"""username keys: one look-alike key per user, unique

Revision ID: c2b3d4e5f6a7
Revises: 0c876fdc4bbb
Create Date: 2026-12-07 07:00:00.000000

Adds ``auth_user.username_key`` (kettle.auth.usernames: a hash of the TS #39 skeleton of
the case-folded NFKC name) and fills it for every existing user. Users whose names look
alike already (``paolo`` and ``PAOLO``, say) keep their names and sign in as before: the
oldest of them gets the name's key, each later one a key of its own made from its id, and
no new account can take any of those looks. The keys are computed in Python, in batches.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

from kettle.auth.usernames import username_key, username_skeleton

revision = "c2b3d4e5f6a7"
down_revision = "0c876fdc4bbb"
branch_labels = None
depends_on = None

BATCH = 1000


def _fill_keys() -> None:
    connection = op.get_bind()
    users = sa.table(
        "auth_user",
        sa.column("id", sa.BigInteger()),
        sa.column("username", sa.String(150)),
        sa.column("username_key", sa.String(64)),
    )
    taken: set[str] = set()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.username)
            .where(users.c.id > last)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for user_id, username in rows:
            key = username_key(username)
            if key in taken:  # an older user has this look: a key of this row's own
                own = f"kettle-duplicate:{user_id}:{username_skeleton(username)}"
                key = hashlib.sha256(own.encode("utf-8", "surrogatepass")).hexdigest()
            taken.add(key)
            connection.execute(users.update().where(users.c.id == user_id).values(username_key=key))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("auth_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sa.String(length=64), nullable=True))
    _fill_keys()
    with op.batch_alter_table("auth_user", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_auth_user_username_key"), ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("auth_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_auth_user_username_key"), type_="unique")
        batch_op.drop_column("username_key")
