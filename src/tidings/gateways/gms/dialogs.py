"""The dialog JSON of the seed ("Callback Push Notifications for iOS"), built for a service.

Top-level ``_action`` is always one of DisplayMenu, StartChat, DialNumber,
ConfirmationDialog (§4.1, hard); action URLs are absolute and built from the
request's scheme and host (§1.1).
"""

from __future__ import annotations

from typing import Any

TOP_LEVEL = ("DisplayMenu", "StartChat", "DialNumber", "ConfirmationDialog")


def _item(
    dialog_id: str, label: str, url: str, confirmation: dict[str, Any] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "_dialog_id": dialog_id,
        "_label": label,
        "_action": "MenuItem",
        "_user_action_url": url,
        "_method": "POST",
        "_id_to_jump_before": "exit://",
    }
    if confirmation is not None:
        item["confirmation_dialog"] = confirmation
    return item


def user_confirmation(ext: str, service_id: str, provide_code: bool, expires: str) -> dict:
    """``get-dialog-user-confirmation-provide_code-true|false``: the "Are you ready?" menu."""
    base = f"{ext}/1/service/{service_id}"
    connect = _item(
        "1",
        "Yes, I'm ready to talk",
        f"{base}/connect",
        {
            "_text": "You will hear tones immediately after call is connected. This is normal.",
            "_dialog_type": "Notification",
            "_dismiss_timeout": 2,
        }
        if provide_code
        else None,
    )
    return {
        "_dialog_id": "0",
        "_label": "Agent is available right now",
        "_user_action_url": f"{base}/not-used",
        "_method": "POST",
        "_action": "DisplayMenu",
        "_expires": expires,
        "_resource_url": f"{base}/get-dialog-user-confirmation",
        "_content": [
            {
                "_group_name": "Are you ready?",
                "_group_content": [
                    connect,
                    _item("2", "No, try again in 5 minutes", f"{base}/snooze"),
                    # The seed points "Cancel" at snooze too; we give it its own action.
                    _item("3", "Cancel, my problem has been solved", f"{base}/cancel"),
                ],
            }
        ],
        "_id": service_id,
    }


def start_chat(ext: str, service_id: str, comet_url: str, gms_user: str, subject: str) -> dict:
    return {
        "_dialog_id": "1",
        "_action": "StartChat",
        "_label": "Start Chat",
        "_start_chat_url": f"{ext}/1/service/{service_id}/ixn/chat",
        "_comet_url": comet_url,
        "_user_header": gms_user,
        "_id_to_jump_before": "exit://",
        "_chat_parameters": {"subject": subject or "None"},
        "_id": service_id,
    }


def dial_number(service_id: str, tel: str, access_code: str | None) -> dict:
    out = {
        "_dialog_id": "0",
        "_label": "Connecting ...",
        "_action": "DialNumber",
        "_tel_url": tel,
        "_id": service_id,
    }
    if access_code is not None:
        out["_access_code"] = access_code
    return out


def confirmation(service_id: str, text: str) -> dict:
    return {
        "_dialog_id": "0",
        "_action": "ConfirmationDialog",
        "_text": text,
        "_ok_title": "Ok",
        "_id": service_id,
    }


CALL_SHORTLY = "You will receive the call shortly"
NOTIFY_LATER = "We will notify you when agent is available"
