"""Service-desk SDK requests -> typed core calls (wire spec §3.5, §5, §11).

The SDKs send loosely typed JSON; this module reads it once, applies the
wire's own rules, and hands the core typed values
(:class:`~tidings.core.desk_models.DeskClaim`,
:class:`~tidings.core.desk_models.NewComment`,
:class:`~tidings.core.desk_models.PushToken`). Anything the core decides (who
may chat, rating bounds, ticket selection) stays in the core. Sans I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.core.desk_models import DeskClaim, NewComment, PushToken, UploadRef
from tidings.domain.errors import Forbidden, InvalidInput
from tidings.gateways.servicedesk.protocol import as_int

MAX_APP_ID = 64
MAX_ID_TEXT = 100
MAX_INSTANCE_ID = 200
#: What identifies a caller (a download names them in its query string, §7).
CREDENTIALS = ("app_id", "user_id", "security_key", "instance_id")
#: What a legacy ``UpdateTicketFeed`` body says about its comment (§11): no ticket
#: choice, it always goes to the open ticket (or a new one).
LEGACY_COMMENT_FIELDS = ("comment", "attachments", "rating", "rating_comment", "extra_fields")
#: The SDK's push ``type`` -> the core device registry's platform.
PUSH_PLATFORMS = {"android": "fcm", "ios": "apns"}


def app_id(data: Mapping[str, Any]) -> str:
    """The SDK's ``app_id`` (the app's desk id); anything else is an unknown app."""
    value = data.get("app_id")
    if not isinstance(value, str) or not value or len(value) > MAX_APP_ID:
        raise Forbidden("unknown app_id", code="unknown_app")
    return value


def claim(data: Mapping[str, Any], *, name_key: str = "author_name") -> DeskClaim:
    """Who the request says it is (§3.5), as the core's :class:`DeskClaim`.

    - ``security_key``: an external user, ``user_id``, to be verified;
    - ``user_id`` without ``instance_id``: the legacy protocol, where ``user_id`` is
      the device id (an anonymous device);
    - ``instance_id`` alone: an anonymous device;
    - ``user_id`` and ``instance_id`` without a key: an unverified external user.
    """
    user_id = _text(data, "user_id", MAX_ID_TEXT)
    security_key = _text(data, "security_key", MAX_ID_TEXT)
    instance_id = _text(data, "instance_id", MAX_INSTANCE_ID)
    given = data.get(name_key)
    author = given if isinstance(given, str) else None
    instance = instance_id or ""
    if security_key:
        if not user_id:
            raise Forbidden("security_key without user_id", code="auth_refused")
        return DeskClaim(
            user=user_id, security_key=security_key, instance_id=instance, author_name=author
        )
    if user_id and not instance_id:
        return DeskClaim(device=user_id, author_name=author)
    if not user_id:
        if not instance_id:
            raise Forbidden("instance_id is required", code="auth_refused")
        return DeskClaim(device=instance_id, instance_id=instance, author_name=author)
    return DeskClaim(user=user_id, instance_id=instance, author_name=author)


def _text(data: Mapping[str, Any], key: str, limit: int) -> str | None:
    """An optional text field of the credentials; anything else refuses the caller."""
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise Forbidden(f"{key} must be text of at most {limit} characters")
    return value


def _attachments(raw: Any) -> tuple[UploadRef, ...]:
    items = raw if isinstance(raw, list) else []
    if any(not isinstance(a, dict) or not isinstance(a.get("guid"), str) for a in items):
        raise InvalidInput("each attachment needs a guid", field="attachments")
    return tuple(
        UploadRef(guid=a["guid"], name=str(a["name"]) if a.get("name") else None) for a in items
    )


def _extra_fields(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k)[:100]: str(v)[:1000] for k, v in raw.items()}


def comment(
    params: Mapping[str, Any], *, extra_fields: Any = None, author_name: Any = None
) -> NewComment:
    """A ``CreateComment`` command's ``params`` (§5.1), or a legacy
    ``UpdateTicketFeed`` body (§11), as a :class:`NewComment`."""
    given = params.get("rating")
    rating = as_int(given)
    if given is not None and rating is None:
        raise InvalidInput("rating must be a whole number", field="rating")
    text = params.get("comment")
    text = text if isinstance(text, str) else ""
    if rating is not None:
        text = ""  # iOS drops the text of a rating; so do we
    rating_comment = params.get("rating_comment")
    ticket_id = as_int(params.get("ticket_id"))
    return NewComment(
        text=text,
        attachments=_attachments(params.get("attachments")),
        rating=rating,
        rating_comment=rating_comment if isinstance(rating_comment, str) else None,
        ticket_id=ticket_id if ticket_id is not None else 0,
        request_new_ticket=params.get("request_new_ticket") is True,
        extra_fields=_extra_fields(params.get("extra_fields") or extra_fields),
        author_name=author_name if isinstance(author_name, str) else None,
    )


def read_mark(params: Mapping[str, Any]) -> tuple[int, int | None]:
    """``MarkTicketAsRead``: (ticket id, comment id or None for the newest)."""
    ticket_id = as_int(params.get("ticket_id"))
    if ticket_id is None:
        raise InvalidInput("ticket_id is required", field="ticket_id")
    return ticket_id, as_int(params.get("comment_id"))


def push_token(data: Mapping[str, Any]) -> PushToken:
    """``SetPushToken`` (§5.3, §11): a missing token removes it; ``type`` defaults to
    ``android``, as the SDKs that omit it are."""
    token, kind = data.get("token"), data.get("type")
    if token is not None and (not isinstance(token, str) or len(token) > 4096):
        raise InvalidInput("token must be text", field="token")
    kind = kind if isinstance(kind, str) and kind else "android"
    return PushToken(token=token or None, kind=kind, platform=PUSH_PLATFORMS.get(kind.lower()))
