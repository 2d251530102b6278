"""Core callbacks and chats as GMS JSON: callback records, chat interactions, errors.

Every user-data value in a record is a string (§1.4); transcript entries are
five strings (§6.5); ``transcriptPosition`` is a numeric string.
"""

from __future__ import annotations

import uuid
from typing import Any

from tidings.core.callbacks import Callback
from tidings.core.gms_chats import Chat, Entry
from tidings.gateways.gms.protocol import iso_ms, iso_s

SERVICE_AVAILABLE = "Chat service is available"


def error_body(code: int, message: str, exception: str = "CallbackException") -> dict[str, Any]:
    phrases = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        503: "Service Unavailable",
    }
    return {
        "code": code,
        "phrase": phrases.get(code, "Error"),
        "message": message,
        "exception": f"com.genesyslab.gsg.services.callback.{exception}",
        "error": message,
    }


def record(callback: Callback, ext: str) -> dict[str, str]:
    url = f"{ext}/1/service/callback/{callback.service_name}/{callback.id}"
    desired = iso_ms(callback.desired_ms or callback.created_ms)
    out = {k: v for k, v in callback.params.items() if not k.startswith("_")}
    out.update(
        {
            "_id": callback.id,
            "_service_name": callback.service_name,
            "_callback_state": callback.state,
            "_callback_reason": callback.reason,
            "_customer_number": callback.customer_number,
            "_desired_time": desired,
            "desiredTime": desired,
            "_expiration_time": iso_ms(callback.expiration_ms),
            "_url": url,
            "url": url,
        }
    )
    return out


def offset(entry: Entry, chat: Chat) -> str:
    return str(max(0, (entry.created_ms - chat.started_ms) // 1000))


def transcript_entry(entry: Entry, chat: Chat) -> list[str]:
    return [entry.kind, entry.nickname, entry.text, offset(entry, chat), entry.party]


def interaction(
    chat: Chat, entries: list[Entry], *, verbose: bool = False, service_id: str = ""
) -> dict[str, Any]:
    """The Chat Interaction object (§6.4)."""
    last = entries[-1].position if entries else chat.last_position
    out: dict[str, Any] = {
        "chatIxnState": chat.state,
        "chatSessionId": chat.chat_session_id,
        "startedAt": iso_s(chat.started_ms),
        "transcriptPosition": str(max(last, chat.last_position) if entries else chat.last_position),
        "chatServiceMessage": SERVICE_AVAILABLE,
        "transcriptToShow": [transcript_entry(e, chat) for e in entries],
    }
    if entries:
        out["transcriptPosition"] = str(last)
    if verbose:
        base = f"/genesys/1/service/{service_id or chat.service_id}/ixn/chat"
        out.update(
            {
                "userId": str(chat.gms_user),
                "secureKey": chat.secure_key,
                "checkChatServiceLoadBalancerPath": "",
                "chatServerLoadBalancerAlias": "",
                "chatServerHost": "",
                "chatWebApiPort": 0,
                "isTLSrequired": False,
                "clientTimeZoneOffset": "0",
                "_chatIxnAPI_SEND_URL": f"{base}/send",
                "_chatIxnAPI_REFRESH_URL": f"{base}/refresh",
                "_chatIxnAPI_START_TYPING_URL": f"{base}/startTyping",
                "_chatIxnAPI_STOP_TYPING_URL": f"{base}/stopTyping",
                "_chatIxnAPI_DISCONNECT_URL": f"{base}/disconnect",
                "_chatIxnAPI_REFRESH_FROM_START_URL": f"{base}/refresh?transcriptPosition=0",
            }
        )
    return out


def notification(service_id: str, chat: Chat, entries: list[Entry]) -> dict[str, Any]:
    """A ``/_genesys`` delivery's ``data`` (§7.3)."""
    return {
        "message": interaction(chat, entries),
        "id": uuid.uuid4().hex,
        "tag": f"service.chat.refresh.{service_id}",
    }


V2_TYPES = {
    "Message.Text": "Message",
    "Notice.Joined": "ParticipantJoined",
    "Notice.Left": "ParticipantLeft",
    "Notice.TypingStarted": "TypingStarted",
    "Notice.TypingStopped": "TypingStopped",
}
V2_PARTY = {"CLIENT": ("Client", 1), "AGENT": ("Agent", 2)}


def v2_response(chat: Chat, entries: list[Entry]) -> dict[str, Any]:
    """Chat v2 response (§8.2): ``chatId`` always, int indices, epoch-ms ``utcTime``."""
    messages = []
    for e in entries:
        kind, pid = V2_PARTY.get(e.party, ("External", 3))
        message: dict[str, Any] = {
            "index": e.position,
            "type": V2_TYPES[e.kind],
            "utcTime": e.created_ms,
            "from": {"nickname": e.nickname, "participantId": pid, "type": kind},
        }
        if e.kind == "Message.Text":
            message["text"] = e.text
            message["messageType"] = "text"
        messages.append(message)
    return {
        "statusCode": 0,
        "chatId": chat.service_id,
        "userId": chat.gms_user,
        "alias": "1",
        "secureKey": chat.secure_key,
        "chatEnded": chat.state != "TRANSCRIPT",
        "nextPosition": chat.last_position + 1,
        "messages": messages,
        "userData": {},
    }


def v2_error(code: int, advice: str, chat_id: str = "") -> dict[str, Any]:
    return {
        "statusCode": 2,
        "chatId": chat_id,
        "chatEnded": True,
        "messages": [],
        "errors": [{"code": code, "advice": advice}],
    }
