"""shared rankings: news_ranking

Revision ID: e4d5f6a7b8c9
Revises: d3c4e5f6a7b8
Create Date: 2026-12-07 09:16:00.000000

The front page's and /top's ranked ids, stored by the periodic task
``news.tasks.recompute_rankings`` for every web worker (``news.models.Ranking``).
"""

import sqlalchemy as sa
from alembic import op

import kettle.db.fields

revision = "e4d5f6a7b8c9"
down_revision = "d3c4e5f6a7b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "news_ranking",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("ids", sa.Text(), nullable=False),
        sa.Column("computed", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_ranking")),
        sa.UniqueConstraint("key", name=op.f("uq_news_ranking_key")),
    )


def downgrade() -> None:
    op.drop_table("news_ranking")
