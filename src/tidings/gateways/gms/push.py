"""The push that tells a phone its callback is ready (gms-callback-chat-wire §3.7).

The GMS mobile app expects, in an APNs alert or an FCM data message, a
``message`` field holding the JSON ``{"_id": <service id>, "_action": <action>}``;
it then asks ``/genesys`` for the dialog of that action. The core decides when to
push and with which action; this module is the wire shape, which the gateway
hands to the core when it starts, so the core still writes the outbox row in the
transaction that moves the callback on.
"""

from __future__ import annotations

import json
from typing import Any

from tidings.core.callbacks import Callback

CHAT_ALERT = "An agent is ready to chat with you"
CALL_ALERT = "An agent is available right now"


def ready_push(callback: Callback, kind: str) -> dict[str, Any]:
    """The outbox payload for delivery ``kind`` (``apns`` or ``fcm``)."""
    action = callback.pushed_action or callback.push_action
    message = json.dumps({"_id": callback.id, "_action": action}, separators=(",", ":"))
    if kind == "apns":
        alert = CHAT_ALERT if callback.is_chat else CALL_ALERT
        return {
            "body": {"aps": {"alert": alert, "sound": "default"}, "message": message},
            "environment": callback.params.get("_apns_environment", "production"),
            "push_type": "alert",
            "priority": 10,
        }
    return {"message": {"data": {"message": message}}}
