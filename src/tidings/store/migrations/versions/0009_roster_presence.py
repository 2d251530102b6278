"""roster items keep name and groups; connections keep their resource and presence

Revision ID: 0009_roster_presence
Revises: 0008_gms_push_outcome
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_roster_presence"
down_revision = "0008_gms_push_outcome"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("groups", sa.JSON(), nullable=True))
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("resource", sa.String(255), nullable=True))
        batch.add_column(sa.Column("presence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("presence")
        batch.drop_column("resource")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("groups")
        batch.drop_column("name")
