"""Plain values of the service desk, handed to the Pyrus gateway and the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tidings.domain.events import Event, _event
from tidings.domain.models import Actor, App


@dataclass(frozen=True, slots=True)
class DeskIdentity:
    """Who an SDK request speaks for: an app's device (``anon``) or its user (``ext``)."""

    app: App
    kind: str
    #: The device id (anonymous) or the host app's user id (external).
    key: str
    user_id: int
    instance_id: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(app_id=self.app.id, user_id=self.user_id, role="user")


@dataclass(frozen=True, slots=True)
class DeskAttachment:
    id: int
    name: str
    size: int
    content_type: str
    file_uid: str


@dataclass(frozen=True, slots=True)
class DeskComment:
    comment_id: int
    ticket_id: int
    body: str
    is_inbound: bool
    created_ms: int
    author_name: str
    sender_id: int
    attachments: list[DeskAttachment] = field(default_factory=list)
    rating: int | None = None
    rating_comment: str | None = None
    avatar_id: int | None = None
    avatar_color: str = "#5B6B7F"


@dataclass(frozen=True, slots=True)
class DeskTicket:
    ticket_id: int
    dialog_id: str
    subject: str
    author_name: str
    status: str
    created_ms: int
    last_activity_ms: int
    requester_id: int
    assignee_id: int | None = None
    assignee_name: str | None = None
    is_read: bool = True
    last_read_comment_id: int = 0
    show_rating: bool = False
    rating: int | None = None
    extra_fields: dict[str, Any] = field(default_factory=dict)
    last_comment: DeskComment | None = None
    comments: list[DeskComment] = field(default_factory=list)
    #: Client comments support has not seen yet (console badges).
    unread_for_support: int = 0
    requester_login: str = ""
    identity_kind: str = "anon"

    @property
    def is_active(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """Per-app settings from ``apps.config`` (merged by ``tidings app update``)."""

    welcome_message: str = ""
    chat_title: str = "Support"
    org_name: str = ""
    org_description: str = ""
    agent_name: str = "Support"
    agent_avatar_id: int | None = None
    rating_on_close: bool = False

    @classmethod
    def of(cls, app: App) -> DeskConfig:
        c = app.config or {}
        avatar = c.get("agent_avatar_id")
        return cls(
            welcome_message=str(c.get("welcome_message") or ""),
            chat_title=str(c.get("chat_title") or "Support"),
            org_name=str(c.get("org_name") or app.name),
            org_description=str(c.get("org_description") or ""),
            agent_name=str(c.get("agent_name") or "Support"),
            agent_avatar_id=int(avatar)
            if isinstance(avatar, int | str) and str(avatar).isdigit()
            else None,
            rating_on_close=bool(c.get("rating_on_close", False)),
        )


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What one SDK command did; ``error`` is (code, text) when it failed."""

    ticket_id: int | None = None
    comment_id: int | None = None
    error: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "comment_id": self.comment_id}


@_event("ticket.changed")
class TicketChanged(Event):
    """A ticket was created, commented, assigned, closed or reopened (console inboxes)."""

    ticket_id: int
    dialog_id: str
    change: str
