"""What every signed-in page shows around its own content: the app, the admin,
the navigation and the form token."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from tidings.admin.session import core_of, csrf_token
from tidings.domain.models import Actor

#: The navigation, in order: (path under /admin, label).
PAGES = (
    ("overview", "Overview"),
    ("settings", "App settings"),
    ("alerts", "Chat alerts"),
    ("broadcasts", "Broadcasts"),
    ("people", "Users & agents"),
    ("outbox", "Outbox"),
)

#: Notices a redirect may ask for (``?done=KEY``): fixed texts, nothing reflected.
NOTICES = {
    "desk": "Service-desk settings saved.",
    "canned": "Canned replies saved.",
    "apns": "APNs credentials saved.",
    "fcm": "FCM service account saved.",
    "gms": "GMS settings saved.",
    "keys": "New API keys made: update your apps' auth key and secret.",
    "alerts": "Chat-alert template saved.",
    "alerts-cleared": "Chat-alert template removed: pushes show the message text.",
    "broadcast": "Broadcast dialog created.",
    "posted": "Message posted to the broadcast.",
    "deactivated": "User deactivated: signed out everywhere, password locked.",
    "deleted": "User deleted.",
    "password": "Password set.",
    "replayed": "Dead letters queued again.",
}


async def around(request: Request, actor: Actor, current: str, **extra: Any) -> dict[str, Any]:
    core = core_of(request)
    app = await core.apps.get_app(actor.app_id)
    me = await core.users.get_user(actor, actor.user_id)
    done = request.query_params.get("done", "")
    operator = (app.config or {}).get("operator") is True  # see admin/apps.py
    return {
        "actor": actor,
        "app": app,
        "me": me,
        "csrf": csrf_token(request),
        "pages": (*PAGES, ("apps", "Apps")) if operator else PAGES,
        "current": current,
        "notice": NOTICES.get(done),
        "errors": {},
        **extra,
    }
