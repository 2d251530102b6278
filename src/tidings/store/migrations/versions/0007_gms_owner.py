"""gms: index the services of one phone (app, gms_user), which a phone lists

Revision ID: 0007_gms_owner
Revises: 0006_gms
"""

from __future__ import annotations

from alembic import op

revision = "0007_gms_owner"
down_revision = "0006_gms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_gms_services_app_user", "gms_services", ["app_id", "gms_user"])


def downgrade() -> None:
    op.drop_index("ix_gms_services_app_user", table_name="gms_services")
