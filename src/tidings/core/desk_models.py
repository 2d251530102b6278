"""Plain values of the service desk: what the desk's SDK gateway hands the core (typed
requests such as :class:`DeskClaim` and :class:`NewComment`, parsed from the wire by
the gateway) and what the core hands back to it and to the console."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tidings.domain.models import Actor, App

#: The satisfaction scale the SDKs are told to draw (``rating_settings``, wire spec
#: §4.3: five emoji faces) and the only ratings accepted (§13.2): 1 (worst) to 5.
RATING_TEXTS: dict[int, str] = {1: "😩", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}
RATING_MAX = max(RATING_TEXTS)


@dataclass(frozen=True, slots=True)
class DeskClaim:
    """Who a client says it is, as its gateway read it off the wire.

    Exactly one of ``device`` (an anonymous device: the app knows no user) and
    ``user`` (the host app's user id) is set. A ``user`` with a ``security_key`` is
    checked with the app's authorization service; without one it is accepted only
    where the app allows unverified users. ``instance_id`` names the installation
    (push tokens are kept per installation).
    """

    device: str | None = None
    user: str | None = None
    security_key: str | None = None
    instance_id: str = ""
    author_name: str | None = None


@dataclass(frozen=True, slots=True)
class UploadRef:
    """A staged upload a comment attaches, by its ``guid``; ``name`` overrides the upload's."""

    guid: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class NewComment:
    """A client's comment: text, files or a rating, on the ticket the client chose.

    ``ticket_id`` is 0 for "the newest open ticket (or a new one)", a positive
    ticket id, or a negative id the client gave a ticket it opened offline (the
    server maps it to the ticket it opened). ``request_new_ticket`` always opens one.
    """

    text: str = ""
    attachments: tuple[UploadRef, ...] = ()
    rating: int | None = None
    rating_comment: str | None = None
    ticket_id: int = 0
    request_new_ticket: bool = False
    extra_fields: dict[str, str] = field(default_factory=dict)
    author_name: str | None = None


@dataclass(frozen=True, slots=True)
class PushToken:
    """A device's push token (``None`` removes it). ``kind`` is the client's own label,
    kept as sent; ``platform`` (``apns``/``fcm``) is set when the core's device
    registry can push to it."""

    token: str | None
    kind: str
    platform: str | None = None


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
