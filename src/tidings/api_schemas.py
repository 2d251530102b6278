"""The answers of the native API (REST ``/api/v1`` and the ``/api/v1/ws`` frames).

One definition serves both ends: the REST gateway declares these as its
``response_model``s (so ``/openapi.json`` describes them), and ``tidings.client``
parses what it receives into them. They sit here, beside the domain models they
wrap, rather than in the gateway because the client may not import the server:
this module imports pydantic and ``tidings.domain`` only.

Single objects are the domain's own values (``User``, ``Dialog``, ``Message``,
``Contact``, ``Presence``, ``PrivacyList``, ``FileInfo``); the classes below are
the envelopes around them. Unknown fields are ignored when parsing, so an older
client keeps working against a newer server.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tidings.domain.models import Contact, Dialog, Message, User

# -- REST answers ------------------------------------------------------------------


class SessionOut(BaseModel):
    """``POST /sessions``: the bearer token and whose it is."""

    token: str
    app_id: int
    user_id: int | None
    expires_ms: int


class WhoAmI(BaseModel):
    """``GET /sessions/current``."""

    app_id: int
    user_id: int
    role: str


class UserList(BaseModel):
    """``GET /users`` and ``GET /dialogs/{id}/members``."""

    items: list[User]


class DialogList(BaseModel):
    """``GET /dialogs``: one page and the total the caller may list."""

    total: int
    limit: int
    offset: int
    items: list[Dialog]


class NotificationsOut(BaseModel):
    """``GET/PUT /dialogs/{id}/notifications``."""

    muted: bool


class HistoryOut(BaseModel):
    """``GET /dialogs/{id}/messages``: continue from ``next_cursor`` while ``has_more``."""

    items: list[Message]
    has_more: bool
    next_cursor: int | None


class MarkerOut(BaseModel):
    """``POST /dialogs/{id}/read`` and ``/delivered``: the marker, a dialog seq."""

    marker: int


class UnreadOut(BaseModel):
    """``GET /unread``: the total and each dialog's count."""

    total: int
    dialogs: dict[str, int]


class SearchOut(BaseModel):
    """``GET /search``."""

    dialogs: list[Dialog]
    messages: list[Message]
    users: list[User]


class ContactList(BaseModel):
    """``GET /contacts``."""

    items: list[Contact]


class PrivacyNames(BaseModel):
    """``GET /privacy/lists`` and ``PUT /privacy/active``."""

    names: list[str]
    active: str | None


class ErrorBody(BaseModel):
    """What went wrong; clients switch on ``code`` (docs/api.md lists them)."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    """Every non-2xx REST answer."""

    error: ErrorBody


# -- real-time frames (gateways/realtime/protocol.py writes them) -------------------


class Hello(BaseModel):
    """The first frame of a connection."""

    user_id: int
    app_id: int
    connection_id: str


class Event(BaseModel):
    """An event frame. ``data`` is the event's fields, as docs/realtime.md lists them
    per event name (``message.created`` has ``dialog_id`` and ``message``, ...)."""

    event: str
    data: dict[str, Any]


class ErrorFrame(BaseModel):
    """An error frame: ``ref`` names the request it answers, if it could be read."""

    ref: str | None = None
    error: ErrorBody


class ResyncDialog(BaseModel):
    """One dialog's part of a resync reply.

    ``missed``: the dialog has anything newer than the cursor; ``complete``: all
    of it is in ``messages``. A dialog the caller may not resync has ``error`` set
    and the defaults elsewhere.
    """

    messages: list[Message] = []
    last_seq: int = 0
    missed: bool = False
    complete: bool = False
    error: ErrorBody | None = None


__all__ = [
    "ContactList",
    "DialogList",
    "ErrorBody",
    "ErrorFrame",
    "ErrorOut",
    "Event",
    "Hello",
    "HistoryOut",
    "MarkerOut",
    "NotificationsOut",
    "PrivacyNames",
    "ResyncDialog",
    "SearchOut",
    "SessionOut",
    "UnreadOut",
    "UserList",
    "WhoAmI",
]
