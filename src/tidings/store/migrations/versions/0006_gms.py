"""gms: callback/chat services, GMS chats and their transcript

Revision ID: 0006_gms
Revises: 0003_servicedesk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_gms"
down_revision = "0003_servicedesk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gms_services",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("customer_number", sa.String(length=100), nullable=False),
        sa.Column("gms_user", sa.String(length=200), nullable=False),
        sa.Column("desired_ms", sa.BigInteger(), nullable=True),
        sa.Column("expiration_ms", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("device_os", sa.String(length=16), nullable=True),
        sa.Column("device_token", sa.Text(), nullable=True),
        sa.Column("notify_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("pushed_action", sa.String(length=100), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_gms_services_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gms_services")),
    )
    op.create_index("ix_gms_services_due", "gms_services", ["notify_at_ms"])
    op.create_index("ix_gms_services_app_state", "gms_services", ["app_id", "state"])
    op.create_table(
        "gms_chats",
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("dialog_id", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("gms_user", sa.String(length=200), nullable=False),
        sa.Column("chat_session_id", sa.String(length=32), nullable=False),
        sa.Column("secure_key", sa.String(length=32), nullable=False),
        sa.Column("nickname", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_position", sa.Integer(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_gms_chats_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_gms_chats")),
    )
    op.create_index("ux_gms_chats_ticket", "gms_chats", ["ticket_id"], unique=True)
    op.create_table(
        "gms_transcript",
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("nickname", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "position", name=op.f("pk_gms_transcript")),
    )


def downgrade() -> None:
    op.drop_table("gms_transcript")
    op.drop_index("ux_gms_chats_ticket", table_name="gms_chats")
    op.drop_table("gms_chats")
    op.drop_index("ix_gms_services_app_state", table_name="gms_services")
    op.drop_index("ix_gms_services_due", table_name="gms_services")
    op.drop_table("gms_services")
