"""gms: what became of a callback's push (delivered or dead, and why)

Revision ID: 0008_gms_push_outcome
Revises: 0007_gms_owner
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_gms_push_outcome"
down_revision = "0007_gms_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gms_services", sa.Column("push_state", sa.String(16), nullable=True))
    op.add_column("gms_services", sa.Column("push_error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("gms_services", "push_error")
    op.drop_column("gms_services", "push_state")
