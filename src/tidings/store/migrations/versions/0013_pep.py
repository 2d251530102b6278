"""XEP-0163 personal eventing: PEP nodes and their items, per user

Revision ID: 0013_pep
Revises: 0012_user_avatar
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_pep"
down_revision = "0012_user_avatar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pep_nodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("access_model", sa.String(16), nullable=False),
        sa.Column("persist_items", sa.Boolean(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_pep_nodes_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pep_nodes"),
        sa.UniqueConstraint("owner_id", "name", name="uq_pep_nodes_owner_id_name"),
    )
    op.create_table(
        "pep_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("published_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["pep_nodes.id"], name="fk_pep_items_node_id_pep_nodes", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_pep_items"),
        sa.UniqueConstraint("node_id", "item_id", name="uq_pep_items_node_id_item_id"),
    )


def downgrade() -> None:
    op.drop_table("pep_items")
    op.drop_table("pep_nodes")
