"""demo clock

Revision ID: 0c876fdc4bbb
Revises: b1a2c3d4e5f6
Create Date: 2026-12-07 06:01:12.014954
"""

import sqlalchemy as sa
from alembic import op

import kettle.db.fields

revision = "0c876fdc4bbb"
down_revision = "b1a2c3d4e5f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demo_clock",
        sa.Column("moment", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_clock")),
    )


def downgrade() -> None:
    op.drop_table("demo_clock")
