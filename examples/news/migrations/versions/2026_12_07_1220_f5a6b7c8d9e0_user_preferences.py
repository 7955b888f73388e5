"""user preferences: auth_user.email_verified, time_zone, language

Revision ID: f5a6b7c8d9e0
Revises: e4d5f6a7b8c9
Create Date: 2026-12-07 12:20:00.000000

The columns kettle.auth's users gained for verified e-mail, time zones and languages.
Existing accounts start unverified, in the browser's zone and language.
"""

import sqlalchemy as sa
from alembic import op

revision = "f5a6b7c8d9e0"
down_revision = "e4d5f6a7b8c9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auth_user") as batch:
        batch.add_column(
            sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("language", sa.String(length=16), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_user") as batch:
        batch.drop_column("language")
        batch.drop_column("time_zone")
        batch.drop_column("email_verified")
