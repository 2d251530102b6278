"""The native real-time wire format: frames in, commands or ProtocolErrors out; encoders.

No sockets: every test feeds the exact text a client would send (docs/realtime.md).
"""

from __future__ import annotations

import json

import pytest

from tidings.gateways.realtime import RealtimeGateway
from tidings.gateways.realtime import __all__ as exported
from tidings.gateways.realtime.protocol import (
    MAX_FRAME_BYTES,
    MAX_RESYNC_DIALOGS,
    DeleteMessage,
    EditMessage,
    MarkDelivered,
    MarkRead,
    Ping,
    ProtocolError,
    Resync,
    SendMessage,
    Typing,
    encode_ack,
    encode_error,
    encode_event,
    encode_hello,
    encode_pong,
    encode_resync,
    parse_command,
    resync_dialog,
)

DIALOG = "65f0c0ffee00000000000001"
MESSAGE = "65f0c0ffee00000000000002"


def frame(**fields: object) -> str:
    return json.dumps(fields)


def error_of(text: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_command(text)
    return caught.value


def test_package_exports_only_the_gateway_and_its_mount() -> None:
    assert exported == ["RealtimeGateway", "RealtimeMount"]
    assert RealtimeGateway.__name__ == "RealtimeGateway"


# -- commands ------------------------------------------------------------------------


def test_send_with_every_field() -> None:
    command = parse_command(
        frame(
            type="send",
            ref="r1",
            dialog_id=DIALOG,
            id=MESSAGE,
            body="hi",
            attachments=[{"file_id": "f1"}],
            params={"save_to_history": 1},
            self_destroy_after=None,
        )
    )
    assert command == SendMessage(
        ref="r1",
        dialog_id=DIALOG,
        body="hi",
        id=MESSAGE,
        attachments=[{"file_id": "f1"}],
        params={"save_to_history": 1},
        self_destroy_after=None,
    )


def test_send_minimal_defaults_and_ignores_unknown_fields() -> None:
    command = parse_command(frame(type="send", dialog_id=DIALOG, body="hi", extra=1))
    assert command == SendMessage(ref=None, dialog_id=DIALOG, body="hi")


def test_send_body_may_be_omitted_or_null_for_attachment_only_messages() -> None:
    command = parse_command(frame(type="send", dialog_id=DIALOG, body=None, attachments=[]))
    assert isinstance(command, SendMessage) and command.body == ""


def test_send_accepts_bytes_frames() -> None:
    command = parse_command(frame(type="send", dialog_id=DIALOG, body="é").encode())
    assert isinstance(command, SendMessage) and command.body == "é"


def test_send_self_destroy_after_is_an_integer() -> None:
    command = parse_command(frame(type="send", dialog_id=DIALOG, body="x", self_destroy_after=5))
    assert isinstance(command, SendMessage) and command.self_destroy_after == 5


def test_edit() -> None:
    command = parse_command(
        frame(type="edit", ref="r2", dialog_id=DIALOG, message_id=MESSAGE, body="fixed")
    )
    assert command == EditMessage(ref="r2", dialog_id=DIALOG, message_id=MESSAGE, body="fixed")


def test_delete_defaults_to_for_me_only() -> None:
    command = parse_command(frame(type="delete", dialog_id=DIALOG, message_id=MESSAGE))
    assert command == DeleteMessage(
        ref=None, dialog_id=DIALOG, message_id=MESSAGE, for_everyone=False
    )


def test_delete_for_everyone() -> None:
    command = parse_command(
        frame(type="delete", ref="r3", dialog_id=DIALOG, message_id=MESSAGE, for_everyone=True)
    )
    assert isinstance(command, DeleteMessage) and command.for_everyone


@pytest.mark.parametrize(("kind", "cls"), [("read", MarkRead), ("delivered", MarkDelivered)])
def test_markers_with_and_without_message_id(kind: str, cls: type) -> None:
    assert parse_command(frame(type=kind, ref="r4", dialog_id=DIALOG)) == cls(
        ref="r4", dialog_id=DIALOG, message_id=None
    )
    assert parse_command(frame(type=kind, dialog_id=DIALOG, message_id=MESSAGE)) == cls(
        ref=None, dialog_id=DIALOG, message_id=MESSAGE
    )


def test_typing() -> None:
    assert parse_command(frame(type="typing", dialog_id=DIALOG, typing=False)) == Typing(
        ref=None, dialog_id=DIALOG, typing=False
    )


def test_resync_with_default_limit() -> None:
    command = parse_command(frame(type="resync", ref="r6", cursors={DIALOG: 41}))
    assert command == Resync(ref="r6", cursors={DIALOG: 41}, limit=100)


def test_resync_with_limit_and_empty_cursors() -> None:
    assert parse_command(frame(type="resync", cursors={}, limit=5)) == Resync(
        ref=None, cursors={}, limit=5
    )


def test_ping() -> None:
    assert parse_command(frame(type="ping", ref="r7")) == Ping(ref="r7")


# -- bad frames ----------------------------------------------------------------------


def test_malformed_json() -> None:
    error = error_of('{"type": "ping"')
    assert (error.code, error.ref) == ("bad_json", None)


def test_invalid_utf8_bytes_are_malformed() -> None:
    assert error_of(b'{"type": "ping", "ref": "\xff"}').code == "bad_json"


@pytest.mark.parametrize("text", ["[]", '"ping"', "null", "42"])
def test_a_frame_is_an_object(text: str) -> None:
    assert error_of(text).code == "bad_frame"


@pytest.mark.parametrize("kind", ["subscribe", "", None, 3, "SEND"])
def test_unknown_type_echoes_the_ref(kind: object) -> None:
    error = error_of(frame(type=kind, ref="r9"))
    assert (error.code, error.ref, error.field) == ("unknown_type", "r9", "type")


def test_missing_type() -> None:
    assert error_of(frame(ref="r9")).code == "unknown_type"


def test_oversize_frame_is_refused_before_parsing() -> None:
    text = frame(type="send", dialog_id=DIALOG, body="x" * MAX_FRAME_BYTES)
    error = error_of(text)
    assert error.code == "frame_too_large"
    # Not even the ref is read from a frame that big.
    assert error.ref is None


def test_frame_size_counts_utf8_bytes_not_characters() -> None:
    body = "é" * (MAX_FRAME_BYTES // 2)  # fewer characters than the limit, more bytes
    text = frame(type="send", dialog_id=DIALOG, body=body).replace("\\u00e9", "é")
    assert len(text) < MAX_FRAME_BYTES < len(text.encode())
    assert error_of(text).code == "frame_too_large"


def test_a_frame_just_under_the_limit_is_parsed() -> None:
    head = frame(type="send", dialog_id=DIALOG, body="")
    text = head.replace('"body": ""', '"body": "' + "x" * (MAX_FRAME_BYTES - len(head)) + '"')
    assert len(text.encode()) == MAX_FRAME_BYTES
    assert isinstance(parse_command(text), SendMessage)


@pytest.mark.parametrize("ref", [5, "x" * 65, ["r"]])
def test_bad_ref(ref: object) -> None:
    error = error_of(frame(type="ping", ref=ref))
    assert (error.code, error.field, error.ref) == ("invalid_field", "ref", None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "send", "body": "hi"}, "dialog_id"),
        ({"type": "send", "dialog_id": "", "body": "hi"}, "dialog_id"),
        ({"type": "send", "dialog_id": 7, "body": "hi"}, "dialog_id"),
        ({"type": "send", "dialog_id": "d" * 65, "body": "hi"}, "dialog_id"),
        ({"type": "send", "dialog_id": DIALOG, "body": 5}, "body"),
        ({"type": "send", "dialog_id": DIALOG, "body": "x", "id": 12}, "id"),
        ({"type": "send", "dialog_id": DIALOG, "body": "x", "attachments": {}}, "attachments"),
        ({"type": "send", "dialog_id": DIALOG, "body": "x", "attachments": ["f"]}, "attachments"),
        ({"type": "send", "dialog_id": DIALOG, "body": "x", "params": []}, "params"),
        (
            {"type": "send", "dialog_id": DIALOG, "body": "x", "self_destroy_after": "5"},
            "self_destroy_after",
        ),
        (
            {"type": "send", "dialog_id": DIALOG, "body": "x", "self_destroy_after": True},
            "self_destroy_after",
        ),
        ({"type": "edit", "dialog_id": DIALOG, "message_id": MESSAGE}, "body"),
        ({"type": "edit", "dialog_id": DIALOG, "body": "x"}, "message_id"),
        ({"type": "delete", "dialog_id": DIALOG}, "message_id"),
        (
            {"type": "delete", "dialog_id": DIALOG, "message_id": MESSAGE, "for_everyone": 1},
            "for_everyone",
        ),
        ({"type": "read", "dialog_id": DIALOG, "message_id": 3}, "message_id"),
        ({"type": "delivered"}, "dialog_id"),
        ({"type": "typing", "dialog_id": DIALOG}, "typing"),
        ({"type": "typing", "dialog_id": DIALOG, "typing": "yes"}, "typing"),
        ({"type": "resync"}, "cursors"),
        ({"type": "resync", "cursors": [DIALOG]}, "cursors"),
        ({"type": "resync", "cursors": {DIALOG: "4"}}, "cursors"),
        ({"type": "resync", "cursors": {DIALOG: -1}}, "cursors"),
        ({"type": "resync", "cursors": {DIALOG: True}}, "cursors"),
        ({"type": "resync", "cursors": {}, "limit": 0}, "limit"),
        ({"type": "resync", "cursors": {}, "limit": 101}, "limit"),
        ({"type": "resync", "cursors": {}, "limit": 1.5}, "limit"),
    ],
)
def test_missing_or_wrong_typed_fields(fields: dict[str, object], field: str) -> None:
    error = error_of(json.dumps({**fields, "ref": "rx"}))
    assert (error.code, error.field, error.ref) == ("invalid_field", field, "rx")
    assert error.to_dict() == {
        "code": "invalid_field",
        "message": error.message,
        "details": {"field": field},
    }
    assert error.message.startswith(field)


def test_resync_names_a_bounded_number_of_dialogs() -> None:
    cursors = {f"{i:024x}": 0 for i in range(MAX_RESYNC_DIALOGS + 1)}
    assert error_of(frame(type="resync", cursors=cursors)).field == "cursors"


# -- server frames -------------------------------------------------------------------


def decoded(text: str) -> dict[str, object]:
    assert "\n" not in text and ", " not in text  # compact, one frame per line if logged
    return json.loads(text)


def test_hello() -> None:
    assert decoded(encode_hello(user_id=7, app_id=1, connection_id="c1")) == {
        "type": "hello",
        "user_id": 7,
        "app_id": 1,
        "connection_id": "c1",
    }


def test_acks() -> None:
    assert decoded(encode_ack("r1")) == {"type": "ack", "ref": "r1"}
    assert decoded(encode_ack(None)) == {"type": "ack", "ref": None}
    assert decoded(encode_ack("r4", marker=0)) == {"type": "ack", "ref": "r4", "marker": 0}
    message = {"id": MESSAGE, "seq": 3, "body": "hi"}
    assert decoded(encode_ack("r1", message=message)) == {
        "type": "ack",
        "ref": "r1",
        "message": message,
    }


def test_error_frame_from_a_protocol_error() -> None:
    error = ProtocolError("unknown_type", "unknown frame type 'x'", ref="r9", field="type")
    assert decoded(encode_error(error.ref, error.to_dict())) == {
        "type": "error",
        "ref": "r9",
        "error": {
            "code": "unknown_type",
            "message": "unknown frame type 'x'",
            "details": {"field": "type"},
        },
    }


def test_error_frame_without_details() -> None:
    error = ProtocolError("bad_json", "a frame is one JSON object")
    assert decoded(encode_error(None, error.to_dict()))["error"] == {
        "code": "bad_json",
        "message": "a frame is one JSON object",
    }


def test_event_frame_drops_routing_fields() -> None:
    data = {
        "app_id": 1,
        "recipients": [2, 3],
        "everyone": False,
        "type": "TypingChanged",
        "dialog_id": DIALOG,
        "user_id": 2,
        "typing": True,
    }
    assert decoded(encode_event("typing", data)) == {
        "type": "event",
        "event": "typing",
        "data": {"app_id": 1, "dialog_id": DIALOG, "user_id": 2, "typing": True},
    }


def test_encoders_keep_unicode_and_refuse_nan() -> None:
    assert "é" in encode_ack("r", message={"body": "é"})
    with pytest.raises(ValueError):
        encode_ack("r", message={"x": float("nan")})


def test_pong() -> None:
    assert decoded(encode_pong("r7")) == {"type": "pong", "ref": "r7"}


def messages(*seqs: int) -> list[dict[str, object]]:
    return [{"id": f"m{s}", "seq": s} for s in seqs]


def test_resync_entry_nothing_missed() -> None:
    assert resync_dialog(5, 100, [], 5) == {
        "messages": [],
        "last_seq": 5,
        "missed": False,
        "complete": True,
    }


def test_resync_entry_all_missed_messages_fit() -> None:
    entry = resync_dialog(2, 3, messages(3, 4, 5), 5)
    assert entry == {"messages": messages(3, 4, 5), "last_seq": 5, "missed": True, "complete": True}


def test_resync_entry_more_than_the_limit_is_incomplete() -> None:
    # The gateway fetches limit + 1: the extra one only says "there is more".
    entry = resync_dialog(0, 3, messages(1, 2, 3, 4), 9)
    assert entry["messages"] == messages(1, 2, 3)
    assert (entry["missed"], entry["complete"], entry["last_seq"]) == (True, False, 9)


def test_resync_frame() -> None:
    dialogs = {DIALOG: resync_dialog(5, 100, [], 5), "bad": {"error": {"code": "x"}}}
    assert decoded(encode_resync("r6", dialogs)) == {
        "type": "resync",
        "ref": "r6",
        "dialogs": dialogs,
    }
