"""The shapes of the GMS rows (services, chats, transcript), as ``store/rows.py`` has
them for the rest: ``TypedDict`` keyword arguments for writes, ``Protocol`` views of
the ``Row`` objects reads return. They follow ``tables_gms.py``: change them together.
"""

from __future__ import annotations

from typing import Any, NotRequired, Protocol, TypedDict


class NewService(TypedDict):
    """Every column of a new ``gms_services`` row."""

    id: str
    app_id: int
    kind: str
    service_name: str
    state: str
    reason: str
    customer_number: str
    gms_user: str
    desired_ms: int | None
    expiration_ms: int
    params: dict[str, Any]
    device_os: str | None
    device_token: str | None
    notify_at_ms: int | None
    pushed_action: str | None
    push_state: NotRequired[str | None]
    push_error: NotRequired[str | None]
    created_ms: int
    updated_ms: int


class ServiceChanges(TypedDict, total=False):
    """Columns of ``gms_services`` a change may set."""

    state: str
    reason: str
    customer_number: str
    desired_ms: int | None
    expiration_ms: int
    params: dict[str, Any]
    device_os: str | None
    device_token: str | None
    notify_at_ms: int | None
    pushed_action: str | None
    push_state: str | None
    push_error: str | None
    updated_ms: int


class ServiceRow(Protocol):
    """A ``gms_services`` row as read."""

    id: str
    app_id: int
    kind: str
    service_name: str
    state: str
    reason: str
    customer_number: str
    gms_user: str
    desired_ms: int | None
    expiration_ms: int
    params: dict[str, Any]
    device_os: str | None
    device_token: str | None
    notify_at_ms: int | None
    pushed_action: str | None
    push_state: str | None
    push_error: str | None
    created_ms: int
    updated_ms: int


class NewChat(TypedDict):
    """Every column of a new ``gms_chats`` row."""

    service_id: str
    app_id: int
    ticket_id: int
    dialog_id: str
    user_id: int
    gms_user: str
    chat_session_id: str
    secure_key: str
    nickname: str
    subject: str
    state: str
    last_position: int
    started_ms: int


class ChatChanges(TypedDict, total=False):
    """Columns of ``gms_chats`` a change may set."""

    nickname: str
    subject: str
    state: str
    last_position: int


class ChatRow(Protocol):
    """A ``gms_chats`` row as read."""

    service_id: str
    app_id: int
    ticket_id: int
    dialog_id: str
    user_id: int
    gms_user: str
    chat_session_id: str
    secure_key: str
    nickname: str
    subject: str
    state: str
    last_position: int
    started_ms: int


class TranscriptEntry(TypedDict):
    """Every column of a ``gms_transcript`` row."""

    service_id: str
    position: int
    kind: str
    nickname: str
    text: str
    party: str
    created_ms: int


class TranscriptRow(Protocol):
    """A ``gms_transcript`` row as read."""

    service_id: str
    position: int
    kind: str
    nickname: str
    text: str
    party: str
    created_ms: int
