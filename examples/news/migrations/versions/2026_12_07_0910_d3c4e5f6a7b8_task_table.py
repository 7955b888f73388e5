"""task table: kettle.tasks' kettle_tasks

Revision ID: d3c4e5f6a7b8
Revises: c2b3d4e5f6a7
Create Date: 2026-12-07 09:10:00.000000

The table in which kettle.tasks' database backend keeps the site's tasks (the queued
mail and the rankings task, ``news_tasks=worker``): ``kettle.tasks.models.TaskRow``.
"""

import sqlalchemy as sa
from alembic import op

import kettle.db.fields

revision = "d3c4e5f6a7b8"
down_revision = "c2b3d4e5f6a7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kettle_tasks",
        sa.Column("task_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_at", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("unique_key", sa.String(length=200), nullable=True),
        sa.Column("active_key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column("enqueued_at", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kettle_tasks")),
        sa.UniqueConstraint("active_key", name=op.f("uq_kettle_tasks_active_key")),
        sa.UniqueConstraint("task_id", name=op.f("uq_kettle_tasks_task_id")),
    )
    with op.batch_alter_table("kettle_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kettle_tasks_state_locked_until", ["state", "locked_until"], unique=False
        )
        batch_op.create_index(
            "ix_kettle_tasks_state_queue_priority_run_at",
            ["state", "queue", sa.literal_column("priority DESC"), "run_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("kettle_tasks")
