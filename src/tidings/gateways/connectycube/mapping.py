"""ConnectyCube JSON objects ⇄ core values (connectycube-wire §3–§8).

Ids map one to one: a dialog's or message's ``_id`` is the core's 24-hex id, a
user's ``id`` the core's integer. Times are ISO-8601 UTC strings, except
``date_sent``/``last_message_date_sent``/``ts``, which are unix seconds.
ConnectyCube user fields the core has no column for (phone, website, tags,
external ids, avatar and its string ``custom_data``) live in the core user's
``custom_data`` under the ``connectycube`` key; a dialog's ``extensions`` are
its ``custom_data``, and its ``permissions`` are kept beside them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from tidings.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    LimitReached,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
)
from tidings.domain.models import Dialog, FileInfo, Message, User
from tidings.gateways.connectycube.query import ParamsError, as_int_list, as_list

#: The exact body that makes the SDK call ``config.on.sessionExpired`` (§2.6).
SESSION_MISSING = "Required session does not exist"

TYPE_TO_CORE = {1: "broadcast", 2: "group", 3: "private", 4: "public"}
CORE_TO_TYPE = {v: k for k, v in TYPE_TO_CORE.items()}

#: ConnectyCube user fields kept in ``custom_data["connectycube"]``.
USER_EXTRAS = (
    "phone",
    "website",
    "external_user_id",
    "external_id",
    "facebook_id",
    "twitter_id",
    "blob_id",
    "avatar",
    "timezone",
    "custom_data",
    "user_tags",
)
#: Message fields with a meaning of their own; every other key is a custom field.
MESSAGE_FIELDS = frozenset(
    {
        "_id",
        "id",
        "chat_dialog_id",
        "message",
        "recipient_id",
        "attachments",
        "send_to_chat",
        "markable",
        "date_sent",
        "sender_id",
        "read_ids",
        "delivered_ids",
        "views_count",
        "read",
        "created_at",
        "updated_at",
        "save_to_history",
        "dialog_id",
    }
)
EXTRAS_KEY = "connectycube"
PERMISSIONS_KEY = "permissions"


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


# -- errors ----------------------------------------------------------------------


def error_body(exc: DomainError) -> tuple[int, dict[str, Any]]:
    """Status and ``{"errors": ...}`` body for a core error (§2.5, §2.6)."""
    if isinstance(exc, Unauthenticated):
        if exc.code in ("session_missing", "token_required", "invalid_token", "token_expired"):
            return 401, {"errors": {"base": [SESSION_MISSING]}}
        return 401, {"errors": {"base": [exc.message]}}
    field = exc.details.get("field") if isinstance(exc.details.get("field"), str) else None
    if isinstance(exc, InvalidInput | LimitReached | Conflict):
        key = field or "base"
        return 422, {"errors": {key: [exc.message]}}
    if isinstance(exc, Forbidden):
        return 403, {"errors": {"base": [exc.message]}}
    if isinstance(exc, NotFound):
        return 404, {"errors": {"base": [exc.message]}}
    if isinstance(exc, TooLarge):
        return 413, {"errors": {"base": [exc.message]}}
    if isinstance(exc, RateLimited):
        return 429, {"errors": {"base": [exc.message]}}
    return exc.status, {"errors": {"base": [exc.message]}}


def bad_params(message: str) -> InvalidInput:
    return InvalidInput(message)


# -- sessions --------------------------------------------------------------------


def session_id(token: str) -> int:
    """A stable integer for a token (the SDK shows it, never sends it back)."""
    return int(hashlib.sha256(token.encode()).hexdigest()[:7], 16)


def session_to_wire(
    token: str, app_id: int, user_id: int | None, created_ms: int, user: User | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": session_id(token),
        "user_id": user_id or 0,
        "application_id": app_id,
        "token": token,
        "ts": unix(created_ms),
        "created_at": iso(created_ms),
        "updated_at": iso(created_ms),
    }
    if user is not None:
        body["user"] = user_to_wire(user)
    return body


# -- users -----------------------------------------------------------------------


def user_to_wire(user: User) -> dict[str, Any]:
    extras = (user.custom_data or {}).get(EXTRAS_KEY) or {}
    body: dict[str, Any] = {
        "id": user.id,
        "full_name": user.full_name,
        "email": user.email,
        "login": user.login,
        "created_at": iso(user.created_ms),
        "updated_at": iso(user.updated_ms),
        "last_request_at": iso(user.last_activity_ms),
        "is_guest": False,
    }
    for key in USER_EXTRAS:
        body[key] = extras.get(key)
    if user.avatar_uid:  # set as a profile picture (an XMPP vCard): a blob uid (§3)
        body["avatar"] = user.avatar_uid
    return body


def user_fields_from_wire(data: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for the core's create/update of a user, from ``{"user": {...}}``'s
    inner object. ``current`` is the user's present ``custom_data`` (kept, extras merged)."""
    if not isinstance(data, dict):
        raise InvalidInput("user must be an object", field="user")
    out: dict[str, Any] = {}
    for key in ("login", "password", "full_name", "email"):
        if data.get(key) is not None:
            value = data[key]
            out[key] = value if isinstance(value, str) else str(value)
    extras: dict[str, Any] = {}
    for key in USER_EXTRAS:
        if key in data and key != "user_tags":
            value = data[key]
            extras[key] = value if value is None or isinstance(value, str | int) else str(value)
    if "tag_list" in data:
        try:
            tags = as_list(data["tag_list"])
        except ParamsError:
            raise InvalidInput("tag_list is a list of tags", field="tag_list") from None
        extras["user_tags"] = ",".join(tags) or None
    if extras:
        base = dict(current or {})
        merged = {**(base.get(EXTRAS_KEY) or {}), **extras}
        out["custom_data"] = {**base, EXTRAS_KEY: merged}
    return out


# -- dialogs ---------------------------------------------------------------------


def wire_type(value: Any) -> str:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput("type is 1, 2, 3 or 4", field="type") from None
    if number not in TYPE_TO_CORE:
        raise InvalidInput(
            "type is 1 (broadcast), 2 (group), 3 (private) or 4 (public)", field="type"
        )
    return TYPE_TO_CORE[number]


def user_ids(value: Any, field: str) -> list[int]:
    """User ids given as an array, or as the SDK's ``"102, 103"`` string (§5.2)."""
    try:
        return as_int_list(value, field)
    except ParamsError as exc:
        raise InvalidInput(str(exc), field=field) from None


def message_ids(value: Any, field: str) -> list[str]:
    try:
        return as_list(value)
    except ParamsError as exc:
        raise InvalidInput(str(exc), field=field) from None


def room_jid(app_id: int, dialog_id: str, domain: str) -> str:
    return f"{app_id}_{dialog_id}@muc.{domain}"


def split_custom(custom: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(extensions, permissions) from a dialog's ``custom_data``."""
    data = dict(custom or {})
    permissions = data.pop(PERMISSIONS_KEY, None)
    if not isinstance(permissions, dict):
        permissions = {"allow_preview": False}
    return (data or None), permissions


def join_custom(
    extensions: dict[str, Any] | None, permissions: dict[str, Any] | None
) -> dict[str, Any] | None:
    if extensions is not None and not isinstance(extensions, dict):
        raise InvalidInput("extensions must be an object", field="extensions")
    if permissions is not None and not isinstance(permissions, dict):
        raise InvalidInput("permissions must be an object", field="permissions")
    data: dict[str, Any] = {
        str(k): v if isinstance(v, str) or v is None else str(v)
        for k, v in (extensions or {}).items()
    }
    if permissions:
        data[PERMISSIONS_KEY] = {"allow_preview": bool(permissions.get("allow_preview"))}
    return data or None


def dialog_to_wire(dialog: Dialog, viewer_id: int, domain: str) -> dict[str, Any]:
    extensions, permissions = split_custom(dialog.custom_data)
    status = None
    if dialog.last_message_id and dialog.last_message_user_id == viewer_id:
        status = "sent"
    return {
        "_id": dialog.id,
        "type": CORE_TO_TYPE.get(dialog.type, 2),
        "name": dialog.name,
        "description": dialog.description,
        "photo": dialog.photo,
        "user_id": dialog.owner_id,
        "occupants_ids": dialog.occupant_ids,
        "occupants_count": len(dialog.occupant_ids),
        "admins_ids": dialog.admin_ids,
        "pinned_messages_ids": dialog.pinned_message_ids,
        "created_at": iso(dialog.created_ms),
        "updated_at": iso(dialog.updated_ms),
        "last_message": dialog.last_message_text,
        "last_message_id": dialog.last_message_id,
        "last_message_user_id": dialog.last_message_user_id,
        "last_message_date_sent": unix(dialog.last_message_ms),
        "last_message_status": status,
        "unread_messages_count": dialog.unread_count,
        "xmpp_room_jid": (
            None if dialog.type == "private" else room_jid(dialog.app_id, dialog.id, domain)
        ),
        "extensions": extensions,
        "permissions": permissions,
    }


# -- messages --------------------------------------------------------------------


def attachments_from_wire(value: Any) -> list[dict[str, Any]]:
    """ConnectyCube attachments (``uid`` of a blob, plus free string fields) as the core's
    (``file_id`` of a stored file, extras kept)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InvalidInput("attachments is a list of objects", field="attachments")
    out = []
    for item in value:
        if isinstance(item, dict) and "uid" not in item and "file_id" not in item:
            out.append(dict(item))  # a contact card or a location: the core judges it
            continue
        if not isinstance(item, dict) or not isinstance(item.get("uid"), str):
            raise InvalidInput("each attachment needs the uid of a blob", field="attachments")
        extra = {k: v for k, v in item.items() if k not in ("uid", "file_id")}
        out.append({**extra, "file_id": item["uid"]})
    return out


def attachment_to_wire(item: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in item.items() if k not in ("file_id", "public")}
    if "file_id" not in item:
        return body  # no blob: a contact card or a location, as it was sent
    body["uid"] = item.get("file_id")
    body.setdefault("type", _kind(str(item.get("content_type") or "")))
    return body


def _kind(content_type: str) -> str:
    head = content_type.split("/", 1)[0]
    return {"image": "photo", "video": "video", "audio": "audio"}.get(head, "file")


def custom_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The custom keys of a message to create: everything not a known field."""
    return {
        str(k): v if isinstance(v, str) else str(v)
        for k, v in data.items()
        if k not in MESSAGE_FIELDS and v is not None
    }


def message_to_wire(message: Message, viewer_id: int, recipient_id: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {
        str(k): v for k, v in (message.params or {}).items() if k not in MESSAGE_FIELDS
    }
    body.update(
        {
            "_id": message.id,
            "chat_dialog_id": message.dialog_id,
            "message": message.body,
            "date_sent": unix(message.created_ms),
            "sender_id": message.sender_id,
            "recipient_id": recipient_id,
            "attachments": [attachment_to_wire(a) for a in message.attachments or []],
            "read_ids": message.read_ids,
            "delivered_ids": message.delivered_ids,
            "views_count": 0,
            "read": 1 if viewer_id in message.read_ids else 0,
            "created_at": iso(message.created_ms),
            "updated_at": iso(message.updated_ms),
        }
    )
    return body


def recipient_of(dialog: Dialog, sender_id: int) -> int:
    """The other user of a private dialog; 0 for every other type."""
    if dialog.type != "private":
        return 0
    others = [u for u in dialog.occupant_ids if u != sender_id]
    return others[0] if others else 0


# -- blobs -----------------------------------------------------------------------


def blob_to_wire(info: FileInfo, *, completed: bool | None = None) -> dict[str, Any]:
    done = info.size > 0 if completed is None else completed
    return {
        "id": info.id,
        "uid": info.uid,
        "content_type": info.content_type,
        "name": info.name,
        "size": info.size if done else None,
        "public": info.public,
        "blob_status": "complete" if done else None,
        "set_completed_at": iso(info.created_ms) if done else None,
        "created_at": iso(info.created_ms),
        "updated_at": iso(info.created_ms),
    }
