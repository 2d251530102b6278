"""The client's models of real-time frames read what the gateway's encoders write
(docs/realtime.md "Server → client"), and refuse what they cannot read."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from tidings.api_schemas import ErrorFrame, Event, Hello, ResyncDialog
from tidings.client.parsing import parse
from tidings.domain.errors import NotFound
from tidings.domain.models import Dialog, Message, User
from tidings.gateways.realtime import protocol

MESSAGE = Message(
    id="0" * 23 + "1",
    app_id=1,
    dialog_id="a" * 24,
    seq=7,
    sender_id=3,
    body="hi",
    attachments=[{"file_id": "f1"}],
    params={"k": "v"},
    created_ms=1,
    updated_ms=2,
)


def test_hello() -> None:
    frame = json.loads(protocol.encode_hello(user_id=7, app_id=1, connection_id="c-1"))
    assert parse(Hello, frame) == Hello(user_id=7, app_id=1, connection_id="c-1")


def test_event_keeps_its_data_and_drops_routing() -> None:
    data = {"dialog_id": MESSAGE.dialog_id, "message": MESSAGE.to_dict(), "recipients": [3]}
    event = parse(Event, json.loads(protocol.encode_event("message.created", data)))
    assert event.event == "message.created"
    assert event.data["message"]["id"] == MESSAGE.id and "recipients" not in event.data
    assert parse(Message, event.data["message"]) == MESSAGE


def test_error_frame() -> None:
    text = protocol.encode_error(
        "r1", NotFound("no such dialog", code="dialog_not_found").to_dict()
    )
    frame = parse(ErrorFrame, json.loads(text))
    assert (frame.ref, frame.error.code) == ("r1", "dialog_not_found")


def test_resync_entries_with_messages_and_with_an_error() -> None:
    good = protocol.resync_dialog(3, 2, [MESSAGE.to_dict()], last_seq=7)
    bad = {"error": NotFound("gone", code="dialog_not_found").to_dict()}
    text = protocol.encode_resync("r6", {"d1": good, "d2": bad})
    dialogs = parse(dict[str, ResyncDialog], json.loads(text)["dialogs"])
    assert dialogs["d1"] == ResyncDialog(messages=[MESSAGE], last_seq=7, missed=True, complete=True)
    assert dialogs["d2"].error is not None and dialogs["d2"].error.code == "dialog_not_found"
    assert dialogs["d2"].messages == []


def test_domain_values_round_trip_through_json() -> None:
    """What FastAPI writes for a dataclass is read back into an equal one."""
    user = User(
        id=3, app_id=1, login="ann", full_name=None, email=None, role="user",
        custom_data={"a": [1]}, created_ms=1, updated_ms=2, last_activity_ms=None,
    )  # fmt: skip
    for value in (user, MESSAGE):
        wire = json.loads(TypeAdapter(type(value)).dump_json(value))
        assert parse(type(value), wire) == value


def test_unknown_fields_are_ignored_and_missing_ones_refused() -> None:
    wire = {**MESSAGE.to_dict(), "from_a_newer_server": True}
    assert parse(Message, wire) == MESSAGE
    del wire["body"]
    with pytest.raises(ValidationError):
        parse(Message, wire)
    with pytest.raises(ValueError):
        parse(Dialog, ["not", "a", "dialog"])
