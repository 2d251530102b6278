"""Messages: the client-id index carries ``seq``, so a retry lookup is one index probe

``find_by_client_id`` asks for the oldest message of a dialog with a client id
(``ORDER BY seq LIMIT 1``). With an index on ``(dialog_id, client_id)`` only, SQLite
chose the ``(dialog_id, seq)`` unique index to avoid the sort and walked the whole
dialog: every message sent with a client id (every standard XMPP client's) cost a
scan of its dialog's history. ``(dialog_id, client_id, seq)`` answers both the filter
and the order.

Revision ID: 0015_message_client_seq
Revises: 0014_desk_notes
"""

from __future__ import annotations

from alembic import op

revision = "0015_message_client_seq"
down_revision = "0014_desk_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_dialog_client", table_name="messages")
    op.create_index("ix_messages_dialog_client_seq", "messages", ["dialog_id", "client_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_messages_dialog_client_seq", table_name="messages")
    op.create_index("ix_messages_dialog_client", "messages", ["dialog_id", "client_id"])
