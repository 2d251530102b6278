"""The shapes of the service desk's rows, as ``store/rows.py`` has them for the rest:
``TypedDict`` keyword arguments for writes, ``Protocol`` views of the ``Row``
objects reads return. They follow ``tables_servicedesk.py``: change them together.
"""

from __future__ import annotations

from typing import Any, NotRequired, Protocol, TypedDict


class NewTicket(TypedDict, total=False):
    """Columns of a new ``desk_tickets`` row (``id`` is assigned; unset ones default)."""

    app_id: int
    dialog_id: str
    requester_id: int
    identity_kind: str
    subject: str
    author_name: str | None
    extra_fields: dict[str, Any] | None
    status: str
    assignee_id: int | None
    show_rating: bool
    rating: int | None
    support_read_id: int
    created_ms: int
    last_activity_ms: int
    closed_ms: int | None
    priority: str


class TicketChanges(TypedDict, total=False):
    """Columns of ``desk_tickets`` a change may set."""

    subject: str
    author_name: str | None
    extra_fields: dict[str, Any] | None
    status: str
    assignee_id: int | None
    show_rating: bool
    rating: int | None
    support_read_id: int
    last_activity_ms: int
    closed_ms: int | None
    priority: str


class TicketRow(Protocol):
    """A ``desk_tickets`` row as read."""

    id: int
    app_id: int
    dialog_id: str
    requester_id: int
    identity_kind: str
    subject: str
    author_name: str | None
    extra_fields: dict[str, Any] | None
    status: str
    assignee_id: int | None
    show_rating: bool
    rating: int | None
    support_read_id: int
    created_ms: int
    last_activity_ms: int
    closed_ms: int | None
    priority: str


class RequesterTicketRow(TicketRow, Protocol):
    """A ticket with its requester's read marker (None before they joined)."""

    read_seq: int | None


class InboxTicketRow(TicketRow, Protocol):
    """A ticket of the console inbox with its requester's names."""

    requester_name: str | None
    requester_login: str


class NewComment(TypedDict):
    """The columns of a new ``desk_comments`` row (``id`` is assigned)."""

    ticket_id: int
    app_id: int
    message_id: str
    seq: int
    is_inbound: bool
    rating: NotRequired[int | None]
    rating_comment: NotRequired[str | None]
    created_ms: int


class CommentRow(Protocol):
    """A ``desk_comments`` row as read."""

    id: int
    ticket_id: int
    app_id: int
    message_id: str
    seq: int
    is_inbound: bool
    rating: int | None
    rating_comment: str | None
    created_ms: int


class CommentWithMessageRow(CommentRow, Protocol):
    """A comment with the columns of its message the SDKs show."""

    body: str
    attachments: list[dict[str, Any]] | None
    sender_id: int
    deleted: bool


class CommandResult(TypedDict):
    """Every column of a ``desk_commands`` row."""

    user_id: int
    command_id: str
    result: dict[str, Any]
    created_ms: int


class Placeholder(TypedDict):
    """Every column of a ``desk_placeholders`` row."""

    user_id: int
    local_id: int
    ticket_id: int


class NewUpload(TypedDict, total=False):
    """Columns of a new ``desk_uploads`` row."""

    guid: str
    name: str
    content_type: str
    size: int
    md5: str
    file_id: int | None
    created_ms: int


class UploadChanges(TypedDict, total=False):
    """Columns of ``desk_uploads`` a change may set."""

    file_id: int | None


class UploadRow(Protocol):
    """A ``desk_uploads`` row as read."""

    guid: str
    name: str
    content_type: str
    size: int
    md5: str
    file_id: int | None
    created_ms: int


class PushCall(TypedDict):
    """The columns of a ``desk_push_calls`` row (``id`` is assigned)."""

    app_id: int
    user_id: int
    at_ms: int


class PushTokenValues(TypedDict):
    """The columns of a ``desk_push_tokens`` row besides its key (user, instance)."""

    app_id: int
    token: str
    type: str
    updated_ms: int


class PushTokenRow(Protocol):
    """A ``desk_push_tokens`` row as read."""

    user_id: int
    instance_id: str
    app_id: int
    token: str
    type: str
    updated_ms: int


class AgentRow(Protocol):
    """An agent or admin of an app, as the console lists them."""

    id: int
    full_name: str | None
    email: str | None
