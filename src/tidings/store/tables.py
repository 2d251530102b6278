"""The one schema, defined once; changed only through Alembic migrations.

Timestamps are integer milliseconds since the epoch (``*_ms``): exact, cheap to
index and the same on SQLite and PostgreSQL. Dialog and message ids are 24-hex
strings (see ``domain/ids.py``); users, apps and files have integer ids.
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = String(24)

apps = Table(
    "apps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("auth_key", String(64), nullable=False, unique=True),
    Column("auth_secret", String(64), nullable=False),
    Column("desk_app_id", String(64), nullable=False, unique=True),
    Column("auth_url", Text, nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("config", JSON, nullable=False, default=dict),
    Column("created_ms", BigInteger, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("login", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("full_name", String(200), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("role", String(16), nullable=False, default="user"),
    Column("custom_data", JSON, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("last_activity_ms", BigInteger, nullable=True),
    #: The avatar: a public file's uid and the SHA-1 of its bytes (XEP-0153 §4.1),
    #: kept here so every presence can carry the hash without reading the file.
    Column("avatar_uid", String(32), nullable=True),
    Column("avatar_sha1", String(40), nullable=True),
    UniqueConstraint("app_id", "login"),
)

#: RFC 5802 §3 SCRAM credentials, one row per user and hash ("SHA-1", "SHA-256"): a
#: table rather than columns on ``users`` so another hash is a row, not a migration,
#: and a user row read on every request stays as small as it was. Rows are replaced
#: whenever the password is set; no row means PLAIN only (core/scram_keys.py).
scram_credentials = Table(
    "scram_credentials",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("hash_name", String(16), primary_key=True),
    Column("salt", LargeBinary, nullable=False),
    Column("iterations", Integer, nullable=False),
    Column("stored_key", LargeBinary, nullable=False),
    Column("server_key", LargeBinary, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Index("ix_sessions_user", "user_id"),
)

dialogs = Table(
    "dialogs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("name", String(200), nullable=True),
    Column("description", Text, nullable=True),
    Column("photo", Text, nullable=True),
    Column("owner_id", Integer, nullable=True),
    Column("private_key", String(64), nullable=True),
    Column("custom_data", JSON, nullable=True),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("last_message_id", Id, nullable=True),
    Column("last_message_text", Text, nullable=True),
    Column("last_message_user_id", Integer, nullable=True),
    Column("last_message_ms", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("app_id", "private_key"),
    Index("ix_dialogs_app_type", "app_id", "type"),
)

#: Membership and per-member state: role, read/delivered markers, mute, "deleted for me".
dialog_members = Table(
    "dialog_members",
    metadata,
    Column("dialog_id", Id, ForeignKey("dialogs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", Integer, nullable=False),
    Column("role", String(16), nullable=False, default="member"),
    Column("joined_ms", BigInteger, nullable=False),
    Column("read_seq", BigInteger, nullable=False, default=0),
    Column("delivered_seq", BigInteger, nullable=False, default=0),
    Column("cleared_seq", BigInteger, nullable=False, default=0),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("muted", Boolean, nullable=False, default=False),
    Index("ix_dialog_members_user", "user_id", "dialog_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("app_id", Integer, nullable=False),
    Column("dialog_id", Id, ForeignKey("dialogs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("sender_id", Integer, nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("attachments", JSON, nullable=True),
    Column("params", JSON, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("edited", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    # The sender's own id when it is not a tidings id, and what its gateway keeps
    # with the message for its own protocol (XMPP extension elements).
    Column("client_id", String(128), nullable=True),
    Column("extensions", Text, nullable=True),
    UniqueConstraint("dialog_id", "seq"),
    Index("ix_messages_dialog_created", "dialog_id", "created_ms"),
    Index("ix_messages_dialog_client_seq", "dialog_id", "client_id", "seq"),
)

#: "Delete for me": the message stays for everyone else.
hidden_messages = Table(
    "hidden_messages",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
)

pinned_messages = Table(
    "pinned_messages",
    metadata,
    Column("dialog_id", Id, ForeignKey("dialogs.id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("pinned_ms", BigInteger, nullable=False),
    Column("pinned_by", Integer, nullable=False),
)

#: Roster: one row per direction, the mirror of the other. status: the RFC 6121
#: subscription state (``core/subscriptions.py``): ``requested`` (I asked), ``pending``
#: (they asked me), ``confirmed`` (both), ``to``, ``from``, ``to+in``, ``from+out``,
#: ``in+out``, ``none``.
contacts = Table(
    "contacts",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    #: RFC 6121 §2.1.2: the roster item's handle and groups, as the user set them.
    Column("name", String(255), nullable=True),
    Column("groups", JSON, nullable=True),
)

privacy_lists = Table(
    "privacy_lists",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("app_id", Integer, nullable=False),
    Column("items", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("updated_ms", BigInteger, nullable=False),
)

#: Denormalised from the active privacy list so a send checks one indexed row.
blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", Integer, primary_key=True),
    Column("blocked_id", Integer, primary_key=True),
    Column("app_id", Integer, nullable=False),
    #: Mutual: the blocker may not write to the blocked user either.
    Column("mutual", Boolean, nullable=False, default=True),
    Index("ix_blocks_blocked", "blocked_id", "blocker_id"),
)

#: XEP-0163 personal eventing: one row per node a user published to (auto-created on
#: first publish), with its XEP-0060 §16.4 configuration (``access_model``
#: presence/open/whitelist, ``persist_items``, ``max_items``).
pep_nodes = Table(
    "pep_nodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("access_model", String(16), nullable=False),
    Column("persist_items", Boolean, nullable=False),
    Column("max_items", Integer, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("owner_id", "name"),
)

#: The items of a PEP node; the serial ``id`` orders them (a republished item id is a
#: new row, so it becomes the last published item, XEP-0060 §7.1.2).
pep_items = Table(
    "pep_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("node_id", Integer, ForeignKey("pep_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", String(255), nullable=False),
    #: The item's payload element as XML text (bounded by ``TIDINGS_PEP_MAX_PAYLOAD_BYTES``).
    Column("payload", Text, nullable=False),
    Column("published_ms", BigInteger, nullable=False),
    UniqueConstraint("node_id", "item_id"),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", Integer, nullable=True),
    Column("name", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("public", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
)

#: A private file attached in a dialog may be downloaded by that dialog's members.
file_grants = Table(
    "file_grants",
    metadata,
    Column("file_id", Integer, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("dialog_id", Id, ForeignKey("dialogs.id", ondelete="CASCADE"), primary_key=True),
)

#: Live connections per node; ``seen_ms`` is refreshed by the node so that a
#: crashed node's rows stop counting after ``TIDINGS_PRESENCE_TIMEOUT``.
connections = Table(
    "connections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("app_id", Integer, nullable=False),
    Column("node_id", String(64), nullable=False),
    Column("seen_ms", BigInteger, nullable=False),
    #: The XMPP resource, and its last broadcast presence (RFC 6121 §4: show, status,
    #: priority) while available; NULL while unavailable. Probes read it on any node.
    Column("resource", String(255), nullable=True),
    Column("presence", JSON, nullable=True),
    Index("ix_connections_user", "user_id"),
    Index("ix_connections_node", "node_id"),
)

#: Durable side effects (push, webhooks), written in the transaction that causes them.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("destination", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    #: Set while a worker holds the row (state ``sending``); added by 0002_delivery.
    Column("locked_until_ms", BigInteger, nullable=True),
    Column("delivered_ms", BigInteger, nullable=True),
    Index("ix_outbox_due", "state", "next_attempt_ms"),
    Index("ix_outbox_lease", "state", "locked_until_ms"),
)
