"""ConnectyCube objects ⇄ core values (connectycube-wire §3–§7), without a server."""

from __future__ import annotations

import pytest

from tidings.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tidings.domain.models import Dialog, FileInfo, Message, User
from tidings.gateways.connectycube.mapping import (
    attachment_to_wire,
    attachments_from_wire,
    blob_to_wire,
    custom_fields,
    dialog_to_wire,
    error_body,
    iso,
    join_custom,
    message_to_wire,
    recipient_of,
    session_to_wire,
    split_custom,
    user_fields_from_wire,
    user_ids,
    user_to_wire,
    wire_type,
)

MS = 1_717_243_500_123


def _dialog(**changes) -> Dialog:
    values = dict(
        id="665b1f0ae4b0c0a1b2c3d4e5",
        app_id=77,
        type="group",
        name="Friday party",
        description=None,
        photo=None,
        owner_id=101,
        occupant_ids=[101, 102],
        admin_ids=[],
        pinned_message_ids=[],
        custom_data={"theme": "pizza", "permissions": {"allow_preview": True}},
        last_seq=1,
        last_message_id="665b1f6ce4b0c0a1b2c3d4f0",
        last_message_text="see you",
        last_message_user_id=102,
        last_message_ms=MS,
        created_ms=MS,
        updated_ms=MS,
        unread_count=1,
    )
    values.update(changes)
    return Dialog(**values)


def test_times() -> None:
    assert iso(MS) == "2024-06-01T12:05:00Z" and iso(None) is None


def test_dialog_shape() -> None:
    """§5.1: integer type, room JID, unix last_message_date_sent, extensions/permissions."""
    wire = dialog_to_wire(_dialog(), 101, "chat.example.com")
    assert wire["_id"] == "665b1f0ae4b0c0a1b2c3d4e5" and wire["type"] == 2
    assert wire["xmpp_room_jid"] == "77_665b1f0ae4b0c0a1b2c3d4e5@muc.chat.example.com"
    assert wire["last_message_date_sent"] == MS // 1000
    assert wire["created_at"] == "2024-06-01T12:05:00Z"
    assert wire["extensions"] == {"theme": "pizza"}
    assert wire["permissions"] == {"allow_preview": True}
    assert wire["occupants_count"] == 2 and wire["unread_messages_count"] == 1
    assert wire["last_message_status"] is None
    private = dialog_to_wire(_dialog(type="private", last_message_user_id=101), 101, "x")
    assert private["type"] == 3 and private["xmpp_room_jid"] is None
    assert private["last_message_status"] == "sent"


def test_dialog_types_and_occupants() -> None:
    """§5.1: 1 broadcast, 2 group, 3 private, 4 public; occupants as "a, b"."""
    assert [wire_type(t) for t in (1, "2", 3, 4)] == ["broadcast", "group", "private", "public"]
    with pytest.raises(InvalidInput):
        wire_type(5)
    assert user_ids("102, 103", "occupants_ids") == [102, 103]
    with pytest.raises(InvalidInput):
        user_ids({"a": 1}, "occupants_ids")


def test_custom_data_round_trip() -> None:
    custom = join_custom({"a": 1, "b": "x"}, {"allow_preview": 1})
    assert custom == {"a": "1", "b": "x", "permissions": {"allow_preview": True}}
    assert split_custom(custom) == ({"a": "1", "b": "x"}, {"allow_preview": True})
    assert split_custom(None) == (None, {"allow_preview": False})


def _message(**changes) -> Message:
    values = dict(
        id="665b1f6ce4b0c0a1b2c3d4f0",
        app_id=77,
        dialog_id="665b1f0ae4b0c0a1b2c3d4e5",
        seq=1,
        sender_id=102,
        body="see you",
        attachments=[
            {
                "type": "photo",
                "id": "12",
                "file_id": "a1b2",
                "name": "cat.jpg",
                "content_type": "image/jpeg",
                "size": 51234,
                "public": False,
            }
        ],
        params={"custom_key": "custom value"},
        created_ms=MS,
        updated_ms=MS,
        read_ids=[102],
        delivered_ids=[101, 102],
    )
    values.update(changes)
    return Message(**values)


def test_message_shape() -> None:
    """§5.3: custom keys top level, attachments by uid, read flag for the viewer."""
    wire = message_to_wire(_message(), 101, recipient_id=101)
    assert wire["_id"] == "665b1f6ce4b0c0a1b2c3d4f0" and wire["message"] == "see you"
    assert wire["date_sent"] == MS // 1000 and wire["recipient_id"] == 101
    assert wire["custom_key"] == "custom value" and wire["read"] == 0
    assert wire["attachments"] == [
        {
            "type": "photo",
            "id": "12",
            "uid": "a1b2",
            "name": "cat.jpg",
            "content_type": "image/jpeg",
            "size": 51234,
        }
    ]
    assert message_to_wire(_message(), 102)["read"] == 1


def test_message_input() -> None:
    assert attachments_from_wire([{"type": "photo", "uid": "a1b2", "id": "12"}]) == [
        {"type": "photo", "id": "12", "file_id": "a1b2"}
    ]
    # No blob: a contact card or a location passes through; the core judges its shape.
    assert attachments_from_wire([{"type": "contact", "data": "{}"}]) == [
        {"type": "contact", "data": "{}"}
    ]
    with pytest.raises(InvalidInput):
        attachments_from_wire([{"type": "photo", "uid": 12}])
    assert custom_fields(
        {"chat_dialog_id": "x", "message": "m", "send_to_chat": 1, "mood": "ok", "n": 3}
    ) == {"mood": "ok", "n": "3"}
    assert attachment_to_wire({"file_id": "u", "content_type": "video/mp4"})["type"] == "video"


def test_recipient_of() -> None:
    assert recipient_of(_dialog(type="private"), 101) == 102
    assert recipient_of(_dialog(), 101) == 0


def _user() -> User:
    return User(
        id=101,
        app_id=77,
        login="alice",
        full_name="Alice A",
        email=None,
        role="user",
        custom_data={"connectycube": {"phone": "+1", "user_tags": "a,b"}},
        created_ms=MS,
        updated_ms=MS,
        last_activity_ms=None,
    )


def test_user_shape_and_input() -> None:
    """§4.1: extras round-trip through core custom_data; tag_list becomes user_tags."""
    wire = user_to_wire(_user())
    assert wire["id"] == 101 and wire["phone"] == "+1" and wire["user_tags"] == "a,b"
    assert wire["website"] is None and wire["created_at"] == "2024-06-01T12:05:00Z"
    fields = user_fields_from_wire(
        {"login": "bob", "password": "pw", "website": "w", "tag_list": ["x", "y"]},
        {"other": 1, "connectycube": {"phone": "+1"}},
    )
    assert fields == {
        "login": "bob",
        "password": "pw",
        "custom_data": {
            "other": 1,
            "connectycube": {"phone": "+1", "website": "w", "user_tags": "x,y"},
        },
    }


def test_session_shape() -> None:
    """§3.1: app session has user_id 0 and no user; ts is unix seconds."""
    app = session_to_wire("tok", 77, None, MS, None)
    assert app["user_id"] == 0 and "user" not in app and app["ts"] == MS // 1000
    assert isinstance(app["id"], int) and app["token"] == "tok"
    user = session_to_wire("tok", 77, 101, MS, _user())
    assert user["user"]["login"] == "alice"


def test_error_bodies() -> None:
    """§2.5/§2.6: the exact expiry body for a missing session; 422 with the field."""
    assert error_body(Unauthenticated("x", code="session_missing")) == (
        401,
        {"errors": {"base": ["Required session does not exist"]}},
    )
    assert error_body(Unauthenticated("wrong login or password", code="bad_credentials")) == (
        401,
        {"errors": {"base": ["wrong login or password"]}},
    )
    assert error_body(InvalidInput("bad", field="name")) == (422, {"errors": {"name": ["bad"]}})
    assert error_body(Conflict("taken"))[0] == 422
    assert error_body(NotFound("nope")) == (404, {"errors": {"base": ["nope"]}})


def test_blob_shape() -> None:
    info = FileInfo(
        id=12,
        uid="u" * 32,
        app_id=77,
        owner_id=101,
        name="cat.jpg",
        content_type="image/jpeg",
        size=0,
        public=False,
        created_ms=MS,
    )
    wire = blob_to_wire(info)
    assert wire["id"] == 12 and wire["size"] is None and wire["blob_status"] is None
    done = blob_to_wire(FileInfo(**{**{s: getattr(info, s) for s in info.__slots__}, "size": 5}))
    assert done["size"] == 5 and done["blob_status"] == "complete"
