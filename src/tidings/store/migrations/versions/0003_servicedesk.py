"""service desk: tickets, comments, commands, uploads, push tokens

Revision ID: 0003_servicedesk
Revises: 0002_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_servicedesk"
down_revision = "0002_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("dialog_id", sa.String(length=24), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("identity_kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("extra_fields", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("show_rating", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("support_read_id", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_desk_tickets_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["dialog_id"],
            ["dialogs.id"],
            name=op.f("fk_desk_tickets_dialog_id_dialogs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_desk_tickets_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_tickets")),
        sa.UniqueConstraint("dialog_id", name=op.f("uq_desk_tickets_dialog_id")),
    )
    op.create_index(
        "ix_desk_tickets_inbox", "desk_tickets", ["app_id", "status", "last_activity_ms"]
    )
    op.create_index("ix_desk_tickets_requester", "desk_tickets", ["requester_id"])
    op.create_table(
        "desk_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=24), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("is_inbound", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["desk_tickets.id"],
            name=op.f("fk_desk_comments_ticket_id_desk_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_comments")),
        sa.UniqueConstraint("message_id", name=op.f("uq_desk_comments_message_id")),
    )
    op.create_index("ix_desk_comments_ticket", "desk_comments", ["ticket_id", "id"])
    op.create_table(
        "desk_commands",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_desk_commands_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "command_id", name=op.f("pk_desk_commands")),
    )
    op.create_table(
        "desk_placeholders",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("local_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_desk_placeholders_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["desk_tickets.id"],
            name=op.f("fk_desk_placeholders_ticket_id_desk_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "local_id", name=op.f("pk_desk_placeholders")),
    )
    op.create_table(
        "desk_uploads",
        sa.Column("guid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guid", name=op.f("pk_desk_uploads")),
    )
    op.create_table(
        "desk_push_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_desk_push_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "instance_id", name=op.f("pk_desk_push_tokens")),
    )
    op.create_table(
        "desk_push_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_push_calls")),
    )
    op.create_index("ix_desk_push_calls_app", "desk_push_calls", ["app_id", "at_ms"])
    op.create_index("ix_desk_push_calls_user", "desk_push_calls", ["user_id", "at_ms"])


def downgrade() -> None:
    op.drop_table("desk_push_calls")
    op.drop_table("desk_push_tokens")
    op.drop_table("desk_uploads")
    op.drop_table("desk_placeholders")
    op.drop_table("desk_commands")
    op.drop_table("desk_comments")
    op.drop_table("desk_tickets")
