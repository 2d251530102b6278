"""Service-desk values of the core <-> Pyrus wire objects (wire spec §4.3)."""

from __future__ import annotations

from typing import Any

from tidings.core.desk_models import RATING_TEXTS, DeskComment, DeskConfig, DeskTicket
from tidings.domain.models import App
from tidings.gateways.servicedesk.protocol import RATING_EMOJI, timestamp, without_nulls


def rating_settings() -> dict[str, Any]:
    """The scale the SDKs draw (§4.3, §13.2): the core's, one emoji per step."""
    return {
        "size": len(RATING_TEXTS),
        "type": RATING_EMOJI,
        "rating_text_values": [{"rating": n, "text": t} for n, t in RATING_TEXTS.items()],
    }


def comment(c: DeskComment) -> dict[str, Any]:
    """A comment. End-user comments carry no ``author_id`` in single-chat mode, or
    Android would not show them as the user's own (§4.3)."""
    author: dict[str, Any] = {"name": c.author_name}
    if not c.is_inbound:
        author["avatar_id"] = c.avatar_id
        author["avatar_color"] = c.avatar_color
    return without_nulls(
        {
            "comment_id": c.comment_id,
            "body": c.body,
            "is_inbound": c.is_inbound,
            "is_system": False,
            "created_at": timestamp(c.created_ms),
            "author": author,
            "attachments": [
                {
                    "id": a.id,
                    "name": a.name,
                    "size": a.size,
                    "is_text": a.content_type.startswith("text/"),
                    "is_video": a.content_type.startswith("video/"),
                }
                for a in c.attachments
            ],
            "rating": c.rating,
            "rating_comment": c.rating_comment if c.rating is not None else None,
        }
    )


def ticket(t: DeskTicket) -> dict[str, Any]:
    return without_nulls(
        {
            "ticket_id": t.ticket_id,
            "subject": t.subject or "",
            "author": t.author_name,
            "created_at": timestamp(t.created_ms),
            "is_read": t.is_read,
            "is_active": t.is_active,
            "last_read_comment_id": t.last_read_comment_id,
            "show_rating": t.show_rating,
            "show_rating_text": "How did we do?" if t.show_rating else None,
            "last_comment": comment(t.last_comment) if t.last_comment else None,
            "comments": [comment(c) for c in t.comments],
        }
    )


def application(app: App) -> dict[str, Any]:
    config = DeskConfig.of(app)
    return without_nulls(
        {
            "app_id": app.desk_app_id,
            "org_name": config.org_name,
            "org_description": config.org_description,
            "welcome_message": config.welcome_message,
            "rating_settings": rating_settings(),
        }
    )
