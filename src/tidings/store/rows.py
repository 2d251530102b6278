"""The shapes of the rows the store writes and reads (apps, users, sessions, files,
dialogs, members, messages).

Writes take keyword arguments typed by a ``TypedDict`` (``**values: Unpack[...]``),
so a misspelt column or a wrongly typed value is a type error at the caller, not a
database error at run time. Reads hand back SQLAlchemy ``Row`` objects unchanged (no
copy on the hot paths); the ``Protocol`` classes here name the attributes such a row
has, so callers read typed columns. Both follow ``tables.py``: change them together.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict


class NewDialog(TypedDict, total=False):
    """Columns of a new ``dialogs`` row (the unset ones take their defaults)."""

    id: str
    app_id: int
    type: str
    name: str | None
    description: str | None
    photo: str | None
    owner_id: int | None
    private_key: str | None
    custom_data: dict[str, Any] | None
    last_seq: int
    created_ms: int
    updated_ms: int


class DialogChanges(TypedDict, total=False):
    """Columns of ``dialogs`` a change may set."""

    name: str | None
    description: str | None
    photo: str | None
    owner_id: int | None
    custom_data: dict[str, Any] | None
    last_message_id: str | None
    last_message_text: str | None
    last_message_user_id: int | None
    last_message_ms: int | None
    updated_ms: int


class MemberChanges(TypedDict, total=False):
    """Columns of ``dialog_members`` a change may set."""

    role: str
    read_seq: int
    delivered_seq: int
    cleared_seq: int
    hidden: bool
    muted: bool


class NewMessage(TypedDict):
    """Every column of a new ``messages`` row."""

    id: str
    app_id: int
    dialog_id: str
    seq: int
    sender_id: int
    body: str
    attachments: list[dict[str, Any]] | None
    params: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    edited: bool
    deleted: bool
    client_id: str | None
    extensions: str | None


class MessageChanges(TypedDict, total=False):
    """Columns of ``messages`` an edit or a deletion may set."""

    body: str
    attachments: list[dict[str, Any]] | None
    params: dict[str, Any] | None
    updated_ms: int
    edited: bool
    deleted: bool


class DialogRow(Protocol):
    """A ``dialogs`` row as read."""

    id: str
    app_id: int
    type: str
    name: str | None
    description: str | None
    photo: str | None
    owner_id: int | None
    private_key: str | None
    custom_data: dict[str, Any] | None
    last_seq: int
    last_message_id: str | None
    last_message_text: str | None
    last_message_user_id: int | None
    last_message_ms: int | None
    created_ms: int
    updated_ms: int


class DialogListRow(DialogRow, Protocol):
    """A ``dialogs`` row with the listing member's own columns."""

    read_seq: int
    cleared_seq: int
    muted: bool


class MemberRow(Protocol):
    """A ``dialog_members`` row as read."""

    dialog_id: str
    user_id: int
    app_id: int
    role: str
    joined_ms: int
    read_seq: int
    delivered_seq: int
    cleared_seq: int
    hidden: bool
    muted: bool


class ActiveMembershipRow(Protocol):
    """One membership read back after a bus gap (``catch_up.active_memberships``)."""

    dialog_id: str
    user_id: int
    cleared_seq: int


class BehindRow(Protocol):
    """A dialog with messages after every marker of one member (``list_behind``)."""

    dialog_id: str
    type: str
    last_seq: int
    floor: int


class MessageRow(Protocol):
    """A ``messages`` row as read."""

    id: str
    app_id: int
    dialog_id: str
    seq: int
    sender_id: int
    body: str
    attachments: list[dict[str, Any]] | None
    params: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    edited: bool
    deleted: bool
    client_id: str | None
    extensions: str | None


class NewApp(TypedDict):
    """The columns a new ``apps`` row is given (``id`` is assigned)."""

    name: str
    auth_key: str
    auth_secret: str
    desk_app_id: str
    config: dict[str, Any]
    created_ms: int


class AppChanges(TypedDict, total=False):
    """Columns of ``apps`` a change may set."""

    name: str
    auth_url: str | None
    webhook_url: str | None
    config: dict[str, Any]


class AppRow(Protocol):
    """An ``apps`` row as read."""

    id: int
    name: str
    auth_key: str
    auth_secret: str
    desk_app_id: str
    auth_url: str | None
    webhook_url: str | None
    config: dict[str, Any] | None
    created_ms: int


class NewUser(TypedDict, total=False):
    """Columns of a new ``users`` row (``id`` is assigned; unset ones take defaults)."""

    app_id: int
    login: str
    email: str | None
    full_name: str | None
    password_hash: str | None
    role: str
    custom_data: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    last_activity_ms: int | None


class UserChanges(TypedDict, total=False):
    """Columns of ``users`` a change may set."""

    email: str | None
    full_name: str | None
    password_hash: str | None
    role: str
    custom_data: dict[str, Any] | None
    updated_ms: int
    last_activity_ms: int | None
    avatar_uid: str | None
    avatar_sha1: str | None


class UserRow(Protocol):
    """A ``users`` row as read."""

    id: int
    app_id: int
    login: str
    email: str | None
    full_name: str | None
    password_hash: str | None
    role: str
    custom_data: dict[str, Any] | None
    created_ms: int
    updated_ms: int
    last_activity_ms: int | None
    avatar_uid: str | None
    avatar_sha1: str | None


class NewSession(TypedDict):
    """Every column of a new ``sessions`` row."""

    token_hash: str
    app_id: int
    user_id: int | None
    created_ms: int
    expires_ms: int


class SessionChanges(TypedDict, total=False):
    """Columns of ``sessions`` a change may set."""

    user_id: int | None
    expires_ms: int


class SessionRow(Protocol):
    """A ``sessions`` row with its user's ``role`` (None without a user)."""

    token_hash: str
    app_id: int
    user_id: int | None
    created_ms: int
    expires_ms: int
    role: str | None


class NewFile(TypedDict, total=False):
    """Columns of a new ``files`` row (``id`` is assigned)."""

    uid: str
    app_id: int
    owner_id: int | None
    name: str
    content_type: str
    size: int
    public: bool
    created_ms: int


class FileChanges(TypedDict, total=False):
    """Columns of ``files`` a change may set."""

    name: str
    content_type: str
    size: int
    public: bool


class FileRow(Protocol):
    """A ``files`` row as read."""

    id: int
    uid: str
    app_id: int
    owner_id: int | None
    name: str
    content_type: str
    size: int
    public: bool
    created_ms: int


class DeviceValues(TypedDict):
    """Every column of a ``devices`` row but its ``id``: what registering writes."""

    app_id: int
    user_id: int
    device_id: str
    platform: str
    token: str
    environment: str
    app_bundle: str | None
    created_ms: int
    updated_ms: int


class DeviceRow(Protocol):
    """A ``devices`` row as read."""

    id: int
    app_id: int
    user_id: int
    device_id: str
    platform: str
    token: str
    environment: str
    app_bundle: str | None
    created_ms: int
    updated_ms: int


class ContactRow(Protocol):
    """A ``contacts`` row (one direction of a roster entry) as read."""

    user_id: int
    contact_id: int
    app_id: int
    status: str
    updated_ms: int
    name: str | None
    groups: list[str] | None


class PrivacyListRow(Protocol):
    """A ``privacy_lists`` row as read."""

    user_id: int
    name: str
    app_id: int
    items: list[dict[str, Any]]
    active: bool
    updated_ms: int


class Connection(TypedDict):
    """Every column of a ``connections`` row: one live client connection."""

    id: str
    user_id: int
    app_id: int
    node_id: str
    seen_ms: int


class ConnectionRow(Protocol):
    """A ``connections`` row as read."""

    id: str
    user_id: int
    app_id: int
    node_id: str
    seen_ms: int
    resource: str | None
    presence: dict[str, Any] | None


class NewDelivery(TypedDict):
    """The columns a queued ``outbox`` row is given (``id`` is assigned)."""

    app_id: int
    kind: str
    destination: str
    payload: dict[str, Any]
    idempotency_key: str
    state: str
    attempts: int
    next_attempt_ms: int
    created_ms: int
    updated_ms: int


class OutboxRow(Protocol):
    """An ``outbox`` row as read."""

    id: int
    app_id: int
    kind: str
    destination: str
    payload: dict[str, Any]
    idempotency_key: str
    state: str
    attempts: int
    next_attempt_ms: int
    last_error: str | None
    created_ms: int
    updated_ms: int
    locked_until_ms: int | None
    delivered_ms: int | None
