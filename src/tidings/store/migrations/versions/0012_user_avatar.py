"""A user's avatar: the stored file that holds it and the SHA-1 of its bytes

Revision ID: 0012_user_avatar
Revises: 0011_scram_credentials
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_user_avatar"
down_revision = "0011_scram_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("avatar_uid", sa.String(32), nullable=True))
        batch.add_column(sa.Column("avatar_sha1", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("avatar_sha1")
        batch.drop_column("avatar_uid")
