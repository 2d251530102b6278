"""Tables of the GMS feature: callback/chat services, GMS chats and their v1 transcript.

A GMS chat is also a service-desk ticket (a ``support`` dialog): the transcript
table only adds what the GMS wire needs and the core messages do not hold —
consecutive positions that count joins, leaves and typing notices too.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from tidings.store.tables import metadata

gms_services = Table(
    "gms_services",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("service_name", String(100), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("customer_number", String(100), nullable=False),
    Column("gms_user", String(200), nullable=False),
    Column("desired_ms", BigInteger, nullable=True),
    Column("expiration_ms", BigInteger, nullable=False),
    Column("params", JSON, nullable=False),
    Column("device_os", String(16), nullable=True),
    Column("device_token", Text, nullable=True),
    Column("notify_at_ms", BigInteger, nullable=True),
    Column("pushed_action", String(100), nullable=True),
    # What became of the last push: queued, delivered or dead (with the outbox's reason).
    Column("push_state", String(16), nullable=True),
    Column("push_error", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_gms_services_due", "notify_at_ms"),
    Index("ix_gms_services_app_state", "app_id", "state"),
    # A phone lists its own callbacks (GET /1/service/callback/{name} with gms_user).
    Index("ix_gms_services_app_user", "app_id", "gms_user"),
)

gms_chats = Table(
    "gms_chats",
    metadata,
    Column("service_id", String(40), primary_key=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("ticket_id", Integer, nullable=False),
    Column("dialog_id", String(24), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("gms_user", String(200), nullable=False),
    Column("chat_session_id", String(32), nullable=False),
    Column("secure_key", String(32), nullable=False),
    Column("nickname", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("last_position", Integer, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Index("ux_gms_chats_ticket", "ticket_id", unique=True),
)

gms_transcript = Table(
    "gms_transcript",
    metadata,
    Column("service_id", String(40), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("nickname", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("party", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)
