"""Who gets a push, and what it says.

Called by ``MessageService.send_message`` inside its transaction, right after
the message row is written, so the pushes are queued (in the outbox) if and
only if the message is stored. Every recipient other than the sender gets one
push per registered device unless:

- the message is ``silent`` (or self-destroying, which is never stored);
- the dialog is a broadcast (no pushes for broadcasts yet);
- the recipient muted the dialog;
- the recipient blocks the sender (already not a recipient);
- the recipient has a live connection (``connections`` rows refreshed within
  ``TIDINGS_PRESENCE_TIMEOUT``): they see the message in the app.

The badge is the recipient's unread total on the server at that moment, this
message included, so it is right whatever the phone counted before.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.outbox import enqueue
from tidings.domain.errors import InvalidInput
from tidings.domain.models import Actor, Message
from tidings.observability import REGISTRY
from tidings.store import apps as apps_store
from tidings.store import devices as store
from tidings.store import dialogs as dialogs_store
from tidings.store.rows import DeviceRow, DialogRow

if TYPE_CHECKING:
    from tidings.core.hub import Core

PREVIEW = 180

QUEUED = Counter(
    "tidings_deliveries_queued",
    "Pushes written to the outbox by this process, by kind.",
    ["kind"],
    registry=REGISTRY,
)
MAX_EVENT_USERS = 100


def apns_payload(
    *,
    title: str,
    body: str,
    badge: int | None,
    data: dict[str, Any],
    subtitle: str | None = None,
) -> dict[str, Any]:
    alert: dict[str, Any] = {"title": title, "body": body}
    if subtitle:
        alert["subtitle"] = subtitle
    aps: dict[str, Any] = {"alert": alert, "sound": "default"}
    if badge is not None:
        aps["badge"] = badge
    return {"aps": aps, **data}


def fcm_message(
    *, title: str, body: str, badge: int | None, data: dict[str, Any], collapse_key: str
) -> dict[str, Any]:
    """FCM v1 ``message`` (without the token): data values must be strings."""
    strings = {k: v if isinstance(v, str) else str(v) for k, v in data.items()}
    if badge is not None:
        strings["badge"] = str(badge)
    android: dict[str, Any] = {
        "priority": "high",
        "collapse_key": collapse_key,
        "notification": {"sound": "default"},
    }
    if badge is not None:
        android["notification"]["notification_count"] = badge
    return {
        "notification": {"title": title, "body": body},
        "data": strings,
        "android": android,
    }


def preview(message: Message) -> str:
    if message.body:
        text = " ".join(message.body.split())
        return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"
    return "[attachment]"


#: ``{sender}`` and ``{message}``: what an app's chat-alert template may say.
ALERT_PLACEHOLDER = re.compile(r"\{(sender|message)\}")


def alert_template(config: dict[str, Any]) -> str | None:
    """The app's chat-alert text (``config["chat_alerts"]["template"]``), if it set one."""
    section = config.get("chat_alerts")
    template = section.get("template") if isinstance(section, dict) else None
    return template if isinstance(template, str) and template.strip() else None


def render_alert(template: str, *, sender: str, message: str) -> str:
    """``template`` with its placeholders filled in one pass, so a message that
    itself says ``{sender}`` is shown as written."""
    values = {"sender": sender, "message": message}
    return ALERT_PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class PushService:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def on_message(
        self,
        conn: AsyncConnection,
        actor: Actor,
        dialog: DialogRow,
        message: Message,
        recipients: list[int],
        *,
        silent: bool = False,
    ) -> int:
        """Queue the pushes for a message just stored in ``conn``'s transaction.

        Returns how many were queued."""
        if silent or message.ephemeral or dialog.type == "broadcast":
            return 0
        others = [u for u in recipients if u != actor.user_id]
        if not others:
            return 0
        alive_after = self.core.now_ms() - self.core.settings.presence_timeout * 1000
        targets = await store.push_targets(conn, dialog.id, others, alive_after)
        if not targets:
            return 0
        sender = await apps_store.get_user(conn, actor.app_id, actor.user_id)
        title = (sender.full_name or sender.login) if sender else "New message"
        body = preview(message)
        app = await apps_store.get_app(conn, actor.app_id)
        template = alert_template(app.config) if app else None
        if template:  # the app's chat-alert text (set on the admin panel)
            body = render_alert(template, sender=title, message=body)
        subtitle = dialog.name if dialog.type != "private" else None
        data = {"dialog_id": dialog.id, "message_id": message.id, "sender_id": actor.user_id}
        badges: dict[int, int] = {}
        queued = 0
        for device in targets:
            if device.user_id not in badges:
                counts = await dialogs_store.unread_counts(conn, device.user_id)
                badges[device.user_id] = sum(counts.values())
            queued += await self._enqueue(
                conn,
                actor.app_id,
                device,
                key=f"push:{message.id}:{device.id}",
                title=title,
                body=body,
                subtitle=subtitle,
                badge=badges[device.user_id],
                data=data,
            )
        return queued

    async def send_event(
        self,
        actor: Actor,
        user_ids: list[int],
        *,
        title: str,
        body: str,
        data: dict[str, Any] | None = None,
        event_id: str,
        badge: int | None = None,
    ) -> int:
        """A push chosen by the app (ConnectyCube's "push event"), to users of the actor's
        app who do not block the actor. ``event_id`` makes a retried request queue nothing
        twice. Returns how many pushes were queued."""
        if not 1 <= len(user_ids) <= MAX_EVENT_USERS:
            raise InvalidInput(f"user_ids holds 1 to {MAX_EVENT_USERS} ids", field="user_ids")
        if not (title or body):
            raise InvalidInput("a push needs a title or a body", field="body")
        if len(title) > 200 or len(body) > 2000:
            raise InvalidInput("title is at most 200 and body 2000 characters", field="body")
        data = dict(data or {})
        queued = 0
        async with self.core.db.transaction() as conn:
            targets = await store.targets_for_users(
                conn, actor.app_id, sorted(set(user_ids)), actor.user_id
            )
            for device in targets:
                queued += await self._enqueue(
                    conn,
                    actor.app_id,
                    device,
                    key=f"event:{actor.app_id}:{event_id}:{device.id}",
                    title=title,
                    body=body,
                    subtitle=None,
                    badge=badge,
                    data={**data, "sender_id": actor.user_id},
                )
        return queued

    async def _enqueue(
        self,
        conn: AsyncConnection,
        app_id: int,
        device: DeviceRow,
        *,
        key: str,
        title: str,
        body: str,
        subtitle: str | None,
        badge: int | None,
        data: dict[str, Any],
    ) -> int:
        if device.platform == "apns":
            payload: dict[str, Any] = {
                "body": apns_payload(
                    title=title, body=body, badge=badge, data=data, subtitle=subtitle
                ),
                "environment": device.environment,
                "push_type": "alert",
                "priority": 10,
            }
            if device.app_bundle:
                payload["topic"] = device.app_bundle
        else:
            payload = {
                "message": fcm_message(
                    title=title, body=body, badge=badge, data=data, collapse_key=key[:64]
                )
            }
        added = await enqueue(
            conn,
            app_id=app_id,
            kind=device.platform,
            destination=device.token,
            payload=payload,
            idempotency_key=key,
            now_ms=self.core.now_ms(),
        )
        if added:
            QUEUED.labels(device.platform).inc()
        return int(added)
