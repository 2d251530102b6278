"""Service-desk tables: tickets over support dialogs, their numbered comments,
processed SDK commands, staged uploads and push tokens.

A ticket *is* a core dialog of type ``support`` and a comment *is* a core
message; these tables hold only what the Pyrus wire protocol needs on top:
integer ids (``ticket_id``, ``comment_id``), ticket state and the SDK's
idempotency records. ``desk_comments.id`` comes from one sequence, so comment
ids increase across all tickets of a user, as SDK cursors require.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from tidings.store.tables import Id, metadata

desk_tickets = Table(
    "desk_tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column(
        "dialog_id", Id, ForeignKey("dialogs.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    Column("requester_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    #: ``anon`` (device-bound) or ``ext`` (the host app's user): switching an app's
    #: mode hides the other kind's tickets.
    Column("identity_kind", String(8), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("author_name", String(200), nullable=True),
    Column("extra_fields", JSON, nullable=True),
    Column("status", String(16), nullable=False, default="open"),
    Column("assignee_id", Integer, nullable=True),
    Column("show_rating", Boolean, nullable=False, default=False),
    Column("rating", Integer, nullable=True),
    #: The newest inbound comment support has seen (console unread badges).
    Column("support_read_id", BigInteger, nullable=False, default=0),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_activity_ms", BigInteger, nullable=False),
    Column("closed_ms", BigInteger, nullable=True),
    #: ``low``, ``normal``, ``high`` or ``urgent``: set by agents, a console filter.
    Column("priority", String(8), nullable=False, default="normal", server_default="normal"),
    Index("ix_desk_tickets_inbox", "app_id", "status", "last_activity_ms"),
    Index("ix_desk_tickets_requester", "requester_id"),
)

desk_comments = Table(
    "desk_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("desk_tickets.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", Integer, nullable=False),
    Column("message_id", Id, nullable=False, unique=True),
    Column("seq", BigInteger, nullable=False),
    Column("is_inbound", Boolean, nullable=False),
    Column("rating", Integer, nullable=True),
    Column("rating_comment", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_desk_comments_ticket", "ticket_id", "id"),
)

#: Agents' internal notes on a ticket. A table of their own, not a flag on
#: ``desk_comments``: a comment *is* a core message of the ticket's dialog, which the
#: requester is a member of, so a note stored as a message would reach the phone
#: through every path that reads messages (history, real-time events, pushes), not
#: only the SDK's. Nothing phone-facing reads this table.
desk_notes = Table(
    "desk_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("desk_tickets.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", Integer, nullable=False),
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("body", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_desk_notes_ticket", "ticket_id", "id"),
)

#: Agents' tags on tickets (a console filter), one row per tag.
desk_ticket_tags = Table(
    "desk_ticket_tags",
    metadata,
    Column(
        "ticket_id",
        Integer,
        ForeignKey("desk_tickets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(32), primary_key=True),
    Column("app_id", Integer, nullable=False),
    Index("ix_desk_ticket_tags_app_tag", "app_id", "tag"),
)

#: One row per processed SDK command: a re-sent command gets its first result back.
desk_commands = Table(
    "desk_commands",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("command_id", String(64), primary_key=True),
    Column("result", JSON, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

#: A client's negative placeholder ticket id, mapped to the ticket it created.
desk_placeholders = Table(
    "desk_placeholders",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("local_id", BigInteger, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("desk_tickets.id", ondelete="CASCADE"), nullable=False),
)

#: ``UploadFile`` carries no identity: bytes wait here until a comment claims them.
desk_uploads = Table(
    "desk_uploads",
    metadata,
    Column("guid", String(32), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("file_id", Integer, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

#: One push token per (identity, device).
desk_push_tokens = Table(
    "desk_push_tokens",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("instance_id", String(200), primary_key=True),
    Column("app_id", Integer, nullable=False),
    Column("token", Text, nullable=False),
    Column("type", String(64), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

#: SetPushToken calls, counted for the seed's limits (per user and per app).
desk_push_calls = Table(
    "desk_push_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_desk_push_calls_app", "app_id", "at_ms"),
    Index("ix_desk_push_calls_user", "user_id", "at_ms"),
)
