"""identity tables: second factors, passkeys and linked accounts

Revision ID: 8635e81ef6ac
Revises: f5a6b7c8d9e0
Create Date: 2026-12-07 13:10:34.424825

The tables of kettle.auth's sign-in batteries (``news.identity``): ``auth_user_totp``
and ``auth_user_recovery_code`` (two-factor authentication), ``auth_user_passkey``
(passkeys) and ``auth_user_identity`` (accounts linked at GitHub and other providers).
"""

import sqlalchemy as sa
from alembic import op

import kettle.db.fields

revision = "8635e81ef6ac"
down_revision = "f5a6b7c8d9e0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_user_identity",
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("created", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_auth_user_identity_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_user_identity")),
        sa.UniqueConstraint("provider", "subject", name="uq_auth_user_identity_subject"),
    )
    with op.batch_alter_table("auth_user_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_user_identity_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "auth_user_passkey",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("credential_id", sa.String(length=1364), nullable=False),
        sa.Column("credential_key", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("user_handle", sa.String(length=100), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("created", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_auth_user_passkey_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_user_passkey")),
        sa.UniqueConstraint("credential_key", name=op.f("uq_auth_user_passkey_credential_key")),
    )
    with op.batch_alter_table("auth_user_passkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_user_passkey_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_user_recovery_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_auth_user_recovery_code_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_user_recovery_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_auth_user_recovery_code_code_hash")),
    )
    with op.batch_alter_table("auth_user_recovery_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_user_recovery_code_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "auth_user_totp",
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("confirmed", kettle.db.fields.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("created", kettle.db.fields.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_user.id"],
            name=op.f("fk_auth_user_totp_user_id_auth_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_user_totp")),
    )
    with op.batch_alter_table("auth_user_totp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_user_totp_user_id"), ["user_id"], unique=True)


def downgrade() -> None:
    op.drop_table("auth_user_totp")
    op.drop_table("auth_user_recovery_code")
    op.drop_table("auth_user_passkey")
    op.drop_table("auth_user_identity")
