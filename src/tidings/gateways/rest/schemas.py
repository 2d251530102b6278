"""Request bodies of the REST API, and its answers re-exported for the routes.

The answers (``SessionOut``, ``DialogList``, ... and the domain's values) live in
``tidings.api_schemas``, which ``tidings.client`` parses them with; the bodies
stay here because only the server validates them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tidings.api_schemas import (
    ContactList,
    DialogList,
    ErrorBody,
    ErrorOut,
    HistoryOut,
    MarkerOut,
    NotificationsOut,
    PrivacyNames,
    SearchOut,
    SessionOut,
    UnreadOut,
    UserList,
    WhoAmI,
)
from tidings.text import has_unstorable_text

UserId = Field(gt=0, le=2**31 - 1)


class Body(BaseModel):
    """Request bodies: unknown fields and unstorable text are refused (400)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        if has_unstorable_text(data):
            raise ValueError("text may not contain NUL characters or lone surrogates")
        return data


class LoginIn(Body):
    app_id: int = Field(gt=0, le=2**31 - 1)
    login: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class SignupIn(Body):
    app_id: int = Field(gt=0, le=2**31 - 1)
    auth_key: str = Field(min_length=1, max_length=200)
    login: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    custom_data: dict[str, Any] | None = None


class UserUpdateIn(Body):
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    custom_data: dict[str, Any] | None = None


class DialogIn(Body):
    type: Literal["private", "group", "public", "broadcast"]
    occupant_ids: list[int] = Field(default_factory=list, max_length=5000)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    photo: str | None = Field(default=None, max_length=2000)
    custom_data: dict[str, Any] | None = None


class DialogUpdateIn(Body):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    photo: str | None = Field(default=None, max_length=2000)
    custom_data: dict[str, Any] | None = None
    add_occupants: list[int] | None = Field(default=None, max_length=5000)
    remove_occupants: list[int] | None = Field(default=None, max_length=5000)
    add_admins: list[int] | None = Field(default=None, max_length=5)
    remove_admins: list[int] | None = Field(default=None, max_length=100)
    pin: list[str] | None = Field(default=None, max_length=100)
    unpin: list[str] | None = Field(default=None, max_length=100)


class NotificationsIn(Body):
    muted: bool


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    file_id: str = Field(min_length=1, max_length=64)


class MessageIn(Body):
    id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{24}$",
        description="Client-chosen id: sending it twice stores one message",
    )
    body: str = ""
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    params: dict[str, Any] = Field(default_factory=dict)
    self_destroy_after: int | None = Field(
        default=None,
        ge=1,
        le=86400,
        description="Seconds; the message is delivered to connected members, never stored",
    )
    silent: bool = Field(default=False, description="Stored and delivered, but no push")


class MessageEditIn(Body):
    body: str


class MarkerIn(Body):
    message_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{24}$")


class TypingIn(Body):
    typing: bool


class ContactIn(Body):
    user_id: int = UserId


class PrivacyItemIn(Body):
    user_id: int = UserId
    action: Literal["allow", "deny"] = "deny"
    order: int = Field(default=0, ge=0, le=1_000_000)
    mutual: bool = True


class PrivacyListIn(Body):
    items: list[PrivacyItemIn] = Field(max_length=1000)


class ActiveListIn(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)


#: The answers, re-exported: routes import every REST schema from this module.
__all__ = [
    "ActiveListIn",
    "AttachmentIn",
    "Body",
    "ContactIn",
    "ContactList",
    "DialogIn",
    "DialogList",
    "DialogUpdateIn",
    "ErrorBody",
    "ErrorOut",
    "HistoryOut",
    "LoginIn",
    "MarkerIn",
    "MarkerOut",
    "MessageEditIn",
    "MessageIn",
    "NotificationsIn",
    "NotificationsOut",
    "PrivacyItemIn",
    "PrivacyListIn",
    "PrivacyNames",
    "SearchOut",
    "SessionOut",
    "SignupIn",
    "TypingIn",
    "UnreadOut",
    "UserId",
    "UserList",
    "UserUpdateIn",
    "WhoAmI",
]
