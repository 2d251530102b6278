"""SCRAM credentials (RFC 5802 §3) per user and hash, beside the argon2id hash

Revision ID: 0011_scram_credentials
Revises: 0010_message_client_id
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_scram_credentials"
down_revision = "0010_message_client_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scram_credentials",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hash_name", sa.String(16), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("stored_key", sa.LargeBinary(), nullable=False),
        sa.Column("server_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_scram_credentials_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "hash_name", name="pk_scram_credentials"),
    )


def downgrade() -> None:
    op.drop_table("scram_credentials")
