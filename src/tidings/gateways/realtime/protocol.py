"""The native real-time wire format: one JSON object per WebSocket text frame.

Sans-I/O, like ``websockets.protocol``: :func:`parse_command` turns one client
frame into a typed command (or raises :class:`ProtocolError`), and the
``encode_*`` functions return the text of server frames. No sockets, no clock,
no core imports, so every rule below is tested by feeding strings.

Client → server (``ref`` is any string of at most 64 characters; optional, and
echoed in the reply so the client can match it to its request)::

    {"type": "send", "ref": "r1", "dialog_id": "...", "id": "<optional 24 hex>",
     "body": "hi", "attachments": [{"file_id": "..."}], "params": {},
     "self_destroy_after": null}
    {"type": "edit", "ref": "r2", "dialog_id": "...", "message_id": "...", "body": "hi!"}
    {"type": "delete", "ref": "r3", "dialog_id": "...", "message_id": "...",
     "for_everyone": false}
    {"type": "read", "ref": "r4", "dialog_id": "...", "message_id": "<optional>"}
    {"type": "delivered", "ref": "r5", "dialog_id": "...", "message_id": "<optional>"}
    {"type": "typing", "dialog_id": "...", "typing": true}
    {"type": "resync", "ref": "r6", "cursors": {"<dialog_id>": 41}, "limit": 100}
    {"type": "ping", "ref": "r7"}

Server → client::

    {"type": "hello", "user_id": 7, "app_id": 1, "connection_id": "..."}   first frame
    {"type": "ack", "ref": "r1", "message": {...}}          send, edit
    {"type": "ack", "ref": "r4", "marker": 42}              read, delivered
    {"type": "ack", "ref": "r3"}                            delete, typing
    {"type": "error", "ref": "r1", "error": {"code": "...", "message": "..."}}
    {"type": "event", "event": "message.created", "data": {...}}
    {"type": "event", "event": "resync.required", "data": {"app_id": 1, "reason": "bus_gap"}}
    {"type": "resync", "ref": "r6", "dialogs": {"<dialog_id>": {
        "messages": [...], "last_seq": 57, "missed": true, "complete": true}}}
    {"type": "pong", "ref": "r7"}

An error frame answers one bad frame; the connection stays open. In a resync
reply ``missed`` says the dialog has anything newer than the cursor and
``complete`` says all of it is in this reply; if not, the client asks again with
the ``seq`` of the last message it got. A dialog the caller cannot resync has
``{"error": {...}}`` in place of the messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tidings.jsonbody import JsonError, TooDeep, TooLarge, loads
from tidings.text import has_unstorable_text

#: Largest client frame, in UTF-8 bytes; bigger ones are answered with an error.
MAX_FRAME_BYTES = 64 * 1024
MAX_REF_CHARS = 64
#: Ids are validated by the core; this only stops absurd strings early.
MAX_ID_CHARS = 64
MAX_RESYNC_DIALOGS = 50
MAX_RESYNC_LIMIT = 100

#: Event fields that say who hears it, not what happened: never sent to clients.
ROUTING_FIELDS = frozenset({"recipients", "everyone", "type"})


class ProtocolError(Exception):
    """The client sent a frame we cannot act on: answered with an error frame.

    ``ref`` is the frame's ``ref`` when it could be read, so the client can tell
    which of its requests failed.
    """

    def __init__(
        self, code: str, message: str, *, ref: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["details"] = {"field": self.field}
        return body


# -- commands ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage:
    ref: str | None
    dialog_id: str
    body: str = ""
    #: The client's own id for the message: resending it is a no-op (idempotent).
    id: str | None = None
    attachments: list[dict[str, Any]] | None = None
    params: dict[str, Any] | None = None
    self_destroy_after: int | None = None
    #: Stored and delivered, but no push notification.
    silent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EditMessage:
    ref: str | None
    dialog_id: str
    message_id: str
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMessage:
    ref: str | None
    dialog_id: str
    message_id: str
    #: False (the default) hides it from the caller only, the reversible-looking choice.
    for_everyone: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkRead:
    ref: str | None
    dialog_id: str
    #: None marks everything up to the newest message.
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkDelivered:
    ref: str | None
    dialog_id: str
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Typing:
    ref: str | None
    dialog_id: str
    typing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Resync:
    ref: str | None
    #: dialog id -> the last ``seq`` the client has seen there (0: nothing).
    cursors: dict[str, int]
    limit: int = MAX_RESYNC_LIMIT


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    ref: str | None


Command = (
    SendMessage | EditMessage | DeleteMessage | MarkRead | MarkDelivered | Typing | Resync | Ping
)


# -- parsing -------------------------------------------------------------------------


def parse_command(frame: str | bytes) -> Command:
    """One client frame as a command; :class:`ProtocolError` says what is wrong."""
    try:
        data = loads(frame, max_bytes=MAX_FRAME_BYTES)
    except TooLarge:
        too_large = f"a frame is at most {MAX_FRAME_BYTES} bytes"
        raise ProtocolError("frame_too_large", too_large) from None
    except TooDeep as exc:
        raise ProtocolError("too_deep", exc.message) from None
    except JsonError:
        raise ProtocolError("bad_json", "a frame is one JSON object") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_frame", "a frame is one JSON object")
    if has_unstorable_text(data):
        raise ProtocolError("bad_frame", "text may not contain NUL or lone surrogates")
    ref = _read_ref(data)
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError("unknown_type", f"unknown frame type {kind!r}", ref=ref, field="type")
    return parser(_Fields(data, ref))


def _read_ref(data: dict[str, Any]) -> str | None:
    ref = data.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        raise ProtocolError(
            "invalid_field", f"ref is a string of at most {MAX_REF_CHARS} characters", field="ref"
        )
    return ref


class _Fields:
    """Typed access to one frame's fields; every failure names the field."""

    def __init__(self, data: dict[str, Any], ref: str | None) -> None:
        self.data = data
        self.ref = ref

    def fail(self, name: str, what: str) -> ProtocolError:
        return ProtocolError("invalid_field", f"{name} {what}", ref=self.ref, field=name)

    def text(self, name: str, *, required: bool = True, max_chars: int | None = None) -> Any:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(name, "is required and must be a string")
        if max_chars is not None and len(value) > max_chars:
            raise self.fail(name, f"is at most {max_chars} characters")
        return value

    def ident(self, name: str, *, required: bool = True) -> Any:
        return self.text(name, required=required, max_chars=MAX_ID_CHARS)

    def boolean(self, name: str, *, default: bool | None = None) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def integer(self, name: str, *, default: int | None, low: int, high: int) -> Any:
        value = self.data.get(name)
        if value is None:
            return default
        if not _is_int(value) or not low <= value <= high:
            raise self.fail(name, f"must be an integer from {low} to {high}")
        return value

    def optional(self, name: str, kind: type, what: str) -> Any:
        value = self.data.get(name)
        if value is not None and not isinstance(value, kind):
            raise self.fail(name, f"must be {what} or null")
        return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _send(f: _Fields) -> SendMessage:
    attachments = f.optional("attachments", list, "a list")
    if attachments is not None and not all(isinstance(a, dict) for a in attachments):
        raise f.fail("attachments", "must be a list of objects")
    self_destroy = f.data.get("self_destroy_after")
    if self_destroy is not None and not _is_int(self_destroy):
        raise f.fail("self_destroy_after", "must be an integer (seconds) or null")
    return SendMessage(
        ref=f.ref,
        dialog_id=f.ident("dialog_id"),
        body=f.optional("body", str, "a string") or "",
        id=f.ident("id", required=False),
        attachments=attachments,
        params=f.optional("params", dict, "an object"),
        self_destroy_after=self_destroy,
        silent=f.boolean("silent", default=False),
    )


def _edit(f: _Fields) -> EditMessage:
    body = f.data.get("body")
    if not isinstance(body, str):
        raise f.fail("body", "is required and must be a string")
    return EditMessage(
        ref=f.ref, dialog_id=f.ident("dialog_id"), message_id=f.ident("message_id"), body=body
    )


def _delete(f: _Fields) -> DeleteMessage:
    return DeleteMessage(
        ref=f.ref,
        dialog_id=f.ident("dialog_id"),
        message_id=f.ident("message_id"),
        for_everyone=f.boolean("for_everyone", default=False),
    )


def _read(f: _Fields) -> MarkRead:
    return MarkRead(
        ref=f.ref, dialog_id=f.ident("dialog_id"), message_id=f.ident("message_id", required=False)
    )


def _delivered(f: _Fields) -> MarkDelivered:
    return MarkDelivered(
        ref=f.ref, dialog_id=f.ident("dialog_id"), message_id=f.ident("message_id", required=False)
    )


def _typing(f: _Fields) -> Typing:
    return Typing(ref=f.ref, dialog_id=f.ident("dialog_id"), typing=f.boolean("typing"))


def _resync(f: _Fields) -> Resync:
    cursors = f.data.get("cursors")
    if not isinstance(cursors, dict):
        raise f.fail("cursors", "is required and must be an object of dialog id to seq")
    if len(cursors) > MAX_RESYNC_DIALOGS:
        raise f.fail("cursors", f"names at most {MAX_RESYNC_DIALOGS} dialogs")
    for dialog_id, seq in cursors.items():
        if len(dialog_id) > MAX_ID_CHARS or not _is_int(seq) or seq < 0:
            raise f.fail("cursors", "maps each dialog id to the last seq seen (0 or more)")
    limit = f.integer("limit", default=MAX_RESYNC_LIMIT, low=1, high=MAX_RESYNC_LIMIT)
    return Resync(ref=f.ref, cursors=dict(cursors), limit=limit)


def _ping(f: _Fields) -> Ping:
    return Ping(ref=f.ref)


_PARSERS: dict[str, Any] = {
    "send": _send,
    "edit": _edit,
    "delete": _delete,
    "read": _read,
    "delivered": _delivered,
    "typing": _typing,
    "resync": _resync,
    "ping": _ping,
}


# -- encoding ------------------------------------------------------------------------


def _dump(frame: dict[str, Any]) -> str:
    # Strict JSON (no NaN): clients in other languages must be able to read it.
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_hello(*, user_id: int, app_id: int, connection_id: str) -> str:
    return _dump(
        {"type": "hello", "user_id": user_id, "app_id": app_id, "connection_id": connection_id}
    )


def encode_ack(
    ref: str | None, *, message: dict[str, Any] | None = None, marker: int | None = None
) -> str:
    frame: dict[str, Any] = {"type": "ack", "ref": ref}
    if message is not None:
        frame["message"] = message
    if marker is not None:
        frame["marker"] = marker
    return _dump(frame)


def encode_error(ref: str | None, error: dict[str, Any]) -> str:
    """``error`` is ``{"code", "message"[, "details"]}``, as ``DomainError.to_dict()``."""
    return _dump({"type": "error", "ref": ref, "error": error})


def encode_event(name: str, data: dict[str, Any]) -> str:
    """An event frame from ``Event.to_dict()``, minus who it was routed to."""
    public = {k: v for k, v in data.items() if k not in ROUTING_FIELDS}
    return _dump({"type": "event", "event": name, "data": public})


def encode_resync_required(app_id: int, reason: str) -> str:
    """Tell a client it may have missed events it cannot be sent: resync every dialog."""
    data = {"app_id": app_id, "reason": reason}
    return _dump({"type": "event", "event": "resync.required", "data": data})


def encode_pong(ref: str | None) -> str:
    return _dump({"type": "pong", "ref": ref})


def resync_dialog(
    cursor: int, limit: int, fetched: list[dict[str, Any]], last_seq: int
) -> dict[str, Any]:
    """One dialog's resync entry from up to ``limit + 1`` messages after ``cursor``.

    Fetching one more than the limit tells "exactly full" from "more to come"
    without a count query.
    """
    return {
        "messages": fetched[:limit],
        "last_seq": last_seq,
        "missed": last_seq > cursor,
        "complete": len(fetched) <= limit,
    }


def encode_resync(ref: str | None, dialogs: dict[str, dict[str, Any]]) -> str:
    return _dump({"type": "resync", "ref": ref, "dialogs": dialogs})
