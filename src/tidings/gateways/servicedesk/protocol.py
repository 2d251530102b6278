"""Pyrus service-desk wire format, sans I/O (wire spec §2, §4, §5).

Pure helpers shared by the routes: the one timestamp shape the SDKs parse,
command envelopes, command results, "omit, don't null", and the
case-insensitive path rule. No asyncio, no web framework, no core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

PREFIX = "/servicedeskapi/v1"

#: Command ``type`` integers (wire spec §5).
CREATE_COMMENT = 0
MARK_TICKET_AS_READ = 1
SET_PUSH_TOKEN = 2
UPDATE_ACCESS = 3
CALC_OPERATOR_TIME = 4
COMMAND_TYPES = {
    CREATE_COMMENT: "CreateComment",
    MARK_TICKET_AS_READ: "MarkTicketAsRead",
    SET_PUSH_TOKEN: "SetPushToken",
    CALC_OPERATOR_TIME: "CalcOperatorTime",
}
#: Android sends at most 50 per call; more is not an SDK.
MAX_COMMANDS = 100

#: ``rating_settings.type`` (§4.3): 1 emoji, 2 thumbs, 3 text.
RATING_EMOJI = 1


def timestamp(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, UTC, no fraction: anything else breaks Android (§2.1)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def normalize_path(path: str) -> str | None:
    """The canonical lower-case form of a service-desk path, or None for other paths.

    SDKs disagree on casing (``gettickets``, ``GetTicketFeed``, ``Avatar``/``avatar``)
    and some add a trailing slash (§2), so routing is on this form.
    """
    lowered = path.lower()
    if lowered != PREFIX and not lowered.startswith(PREFIX + "/"):
        return None
    rest = lowered[len(PREFIX) :].rstrip("/")
    return PREFIX + (rest or "/")


def without_nulls(value: Any) -> Any:
    """Drop ``None`` members everywhere: several Android fields are non-nullable with
    defaults, so a missing key decodes and an explicit null fails (§2.1)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def as_int(value: Any) -> int | None:
    """An integer field, tolerating the numeric strings some clients send."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) < 19:
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class Command:
    """One queued write from ``gettickets.commands[]`` (§5): dispatched on ``type``."""

    command_id: str
    type: int
    params: dict[str, Any] = field(default_factory=dict)
    app_id: str | None = None
    user_id: str | None = None


def parse_commands(raw: Any) -> tuple[list[Command], list[dict[str, Any]]]:
    """Valid commands, and the error results of the malformed ones that can be answered.

    A command without a usable ``command_id`` cannot be answered and is skipped;
    unknown keys (Android's ``__type``) are ignored.
    """
    commands: list[Command] = []
    errors: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return commands, errors
    for item in raw[:MAX_COMMANDS]:
        if not isinstance(item, dict):
            continue
        command_id = item.get("command_id")
        if not isinstance(command_id, str) or not 1 <= len(command_id) <= 64:
            continue
        kind = as_int(item.get("type"))
        params: dict[str, Any] = item["params"] if isinstance(item.get("params"), dict) else {}
        if kind not in COMMAND_TYPES:
            errors.append(error_result(command_id, "unknown command type", 400))
            continue
        commands.append(
            Command(
                command_id=command_id,
                type=kind,
                params=params,
                app_id=_text(item.get("app_id")) or _text(params.get("app_id")),
                user_id=_text(item.get("user_id")) or _text(params.get("user_id")),
            )
        )
    return commands, errors


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def command_result(
    command_id: str, *, ticket_id: int | None = None, comment_id: int | None = None
) -> dict[str, Any]:
    return without_nulls(
        {"command_id": command_id, "ticket_id": ticket_id, "comment_id": comment_id}
    )


def error_result(command_id: str, text: str, code: int) -> dict[str, Any]:
    """A failed command: HTTP stays 200 and the client shows it as not sent (§12)."""
    return {"command_id": command_id, "error": {"text": text, "code": code}}
