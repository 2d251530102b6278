"""Plain values the core hands to gateways: no ORM rows, no wire formats."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

ROLES = ("user", "agent", "admin")
#: ``support``: a service-desk ticket (core/tickets.py); opened only by the desk.
DIALOG_TYPES = ("private", "group", "public", "broadcast", "support")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: every service method takes one first."""

    app_id: int
    user_id: int
    role: str = "user"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class App:
    id: int
    name: str
    auth_key: str
    auth_secret: str
    desk_app_id: str
    auth_url: str | None
    webhook_url: str | None
    config: dict[str, Any]
    created_ms: int


@dataclass(frozen=True, slots=True)
class User:
    id: int
    app_id: int
    login: str
    full_name: str | None
    email: str | None
    role: str
    custom_data: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    last_activity_ms: int | None
    #: The avatar's file uid (a public file) and the SHA-1 of its bytes, if set.
    avatar_uid: str | None = None
    avatar_sha1: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    app_id: int
    user_id: int | None
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    app_id: int
    dialog_id: str
    seq: int | None
    sender_id: int
    body: str
    attachments: list[dict[str, Any]]
    params: dict[str, Any]
    created_ms: int
    updated_ms: int
    edited: bool = False
    deleted: bool = False
    #: Self-destroying: relayed to whoever is connected, never stored.
    ephemeral: bool = False
    self_destroy_after: int | None = None
    read_ids: list[int] = field(default_factory=list)
    delivered_ids: list[int] = field(default_factory=list)
    #: The sender's own id for the message when it is not a tidings id (an XMPP
    #: client's stanza id): what that protocol's recipients see and refer to.
    client_id: str | None = None
    #: What the sending gateway keeps with the message to give it back as it came
    #: (XMPP: the extension elements); opaque to the core, bounded in size.
    extensions: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain copy for events and JSON. Written out rather than ``asdict``, which
        deep-copies field by field and was a tenth of the cost of a send."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "dialog_id": self.dialog_id,
            "seq": self.seq,
            "sender_id": self.sender_id,
            "body": self.body,
            "attachments": [dict(a) for a in self.attachments],
            "params": copy.deepcopy(self.params) if self.params else {},
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "edited": self.edited,
            "deleted": self.deleted,
            "ephemeral": self.ephemeral,
            "self_destroy_after": self.self_destroy_after,
            "read_ids": list(self.read_ids),
            "delivered_ids": list(self.delivered_ids),
            "client_id": self.client_id,
            "extensions": self.extensions,
        }


@dataclass(frozen=True, slots=True)
class Dialog:
    id: str
    app_id: int
    type: str
    name: str | None
    description: str | None
    photo: str | None
    owner_id: int | None
    occupant_ids: list[int]
    admin_ids: list[int]
    pinned_message_ids: list[str]
    custom_data: dict[str, Any] | None
    last_seq: int
    last_message_id: str | None
    last_message_text: str | None
    last_message_user_id: int | None
    last_message_ms: int | None
    created_ms: int
    updated_ms: int
    #: The caller's view: unread messages, mute, and how far they have read.
    unread_count: int = 0
    muted: bool = False
    read_seq: int = 0
    is_member: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]
    #: True when more messages match beyond this page.
    has_more: bool
    #: Pass as ``after_seq``/``before_seq`` to continue in the same direction.
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class Contact:
    user_id: int
    status: str
    updated_ms: int
    #: RFC 6121 §2.1.2 roster item handle and groups.
    name: str | None = None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: int
    online: bool
    last_activity_ms: int | None


@dataclass(frozen=True, slots=True)
class PrivacyItem:
    """One XEP-0016-style rule, reduced to what chat users need: block or allow a user."""

    user_id: int
    action: str = "deny"
    order: int = 0
    #: Also refuse to send to them (ConnectyCube "mutual block").
    mutual: bool = True


@dataclass(frozen=True, slots=True)
class PrivacyList:
    name: str
    items: list[PrivacyItem]
    active: bool


@dataclass(frozen=True, slots=True)
class FileInfo:
    id: int
    uid: str
    app_id: int
    owner_id: int | None
    name: str
    content_type: str
    size: int
    public: bool
    created_ms: int


@dataclass(frozen=True, slots=True)
class SearchResults:
    dialogs: list[Dialog]
    messages: list[Message]
    users: list[User]


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which slice of a dialog's history to read. Sequence bounds are exclusive."""

    after_seq: int | None = None
    before_seq: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    sender_id: int | None = None
    descending: bool = False
    limit: int = 50
    skip: int = 0
