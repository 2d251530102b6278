"""Delivery: the devices registry, and the claim lease on outbox rows.

Revision ID: 0002_delivery
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_delivery"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("app_bundle", sa.String(200), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ux_devices_user_device", "devices", ["user_id", "device_id"], unique=True)
    op.create_index("ix_devices_token", "devices", ["app_id", "platform", "token"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("locked_until_ms", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("delivered_ms", sa.BigInteger, nullable=True))
    op.create_index("ix_outbox_lease", "outbox", ["state", "locked_until_ms"])


def downgrade() -> None:
    op.drop_index("ix_outbox_lease", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("delivered_ms")
        batch.drop_column("locked_until_ms")
    op.drop_index("ix_devices_token", "devices")
    op.drop_index("ux_devices_user_device", "devices")
    op.drop_table("devices")
