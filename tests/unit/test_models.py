"""The hand-written ``Message.to_dict`` must stay what ``dataclasses.asdict`` gives."""

from __future__ import annotations

import dataclasses

from tidings.domain.models import Message


def test_message_to_dict_matches_asdict_and_copies() -> None:
    message = Message(
        id="a" * 24,
        app_id=1,
        dialog_id="b" * 24,
        seq=7,
        sender_id=3,
        body="hi",
        attachments=[{"type": "location", "lat": 1.5}],
        params={"nested": {"k": [1, 2]}},
        created_ms=10,
        updated_ms=11,
        edited=True,
        deleted=False,
        ephemeral=False,
        self_destroy_after=None,
        read_ids=[3],
        delivered_ids=[3, 4],
    )
    plain = message.to_dict()
    assert plain == dataclasses.asdict(message)
    assert list(plain) == [f.name for f in dataclasses.fields(Message)]
    plain["params"]["nested"]["k"].append(3)
    plain["attachments"][0]["lat"] = 0
    plain["read_ids"].append(9)
    assert message.params == {"nested": {"k": [1, 2]}}
    assert message.attachments == [{"type": "location", "lat": 1.5}]
    assert message.read_ids == [3]
