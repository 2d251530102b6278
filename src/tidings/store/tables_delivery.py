"""Tables of the delivery feature: the registry of push subscriptions (devices).

The outbox itself lives in ``tables.py`` (every feature enqueues into it); the
columns delivery adds to it (the claim lease, the delivery time) are there too.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from tidings.store.tables import metadata

#: One row per (user, device): a user's phone and tablet each get the push. The
#: same token under another user (logout, login as someone else) moves with the
#: newest registration, so a phone never shows a previous user's messages.
devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", String(200), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("token", Text, nullable=False),
    Column("environment", String(16), nullable=False),
    Column("app_bundle", String(200), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ux_devices_user_device", "user_id", "device_id", unique=True),
    Index("ix_devices_token", "app_id", "platform", "token"),
)
