"""Service desk: agents' internal notes on tickets (never sent to the requester),
ticket priority and tags

Revision ID: 0014_desk_notes
Revises: 0013_pep
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_desk_notes"
down_revision = "0013_pep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["desk_tickets.id"],
            name="fk_desk_notes_ticket_id_desk_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_desk_notes_author_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_desk_notes"),
    )
    op.create_index("ix_desk_notes_ticket", "desk_notes", ["ticket_id", "id"])
    op.add_column(
        "desk_tickets",
        sa.Column("priority", sa.String(8), nullable=False, server_default="normal"),
    )
    op.create_table(
        "desk_ticket_tags",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(32), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["desk_tickets.id"],
            name="fk_desk_ticket_tags_ticket_id_desk_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag", name="pk_desk_ticket_tags"),
    )
    op.create_index("ix_desk_ticket_tags_app_tag", "desk_ticket_tags", ["app_id", "tag"])


def downgrade() -> None:
    op.drop_index("ix_desk_ticket_tags_app_tag", table_name="desk_ticket_tags")
    op.drop_table("desk_ticket_tags")
    with op.batch_alter_table("desk_tickets") as batch:
        batch.drop_column("priority")
    op.drop_index("ix_desk_notes_ticket", table_name="desk_notes")
    op.drop_table("desk_notes")
