"""messages keep the sender's own id and the extension elements of their protocol

Revision ID: 0010_message_client_id
Revises: 0009_roster_presence
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_message_client_id"
down_revision = "0009_roster_presence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("extensions", sa.Text(), nullable=True))
    op.create_index("ix_messages_dialog_client", "messages", ["dialog_id", "client_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_dialog_client", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("extensions")
        batch.drop_column("client_id")
