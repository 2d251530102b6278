"""Pure parts of the MUC folder: room names to dialogs, history requests, stanzas."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

from tidings.domain.ids import is_valid_id
from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.muc.handler import history_wanted
from tidings.gateways.xmpp.muc.rooms import named_room_id, resolve

ID = "665b1f0ae4b0c0a1b2c3d4e5"


def test_connectycube_room_is_the_dialog() -> None:
    """connectycube-wire §10.1: ``<appId>_<dialogId>`` names the dialog itself."""
    room = resolve(77, JID.parse(f"77_{ID}@muc.example.com/101"))
    assert room is not None and room.dialog_id == ID and not room.named
    assert room.jid == f"77_{ID}@muc.example.com"
    assert resolve(78, JID.parse(f"77_{ID}@muc.example.com")) is None  # another app's


def test_any_other_name_is_a_named_room_per_app() -> None:
    """XEP-0045 §10.1: a new name is a room; the same name (any case) is the same room."""
    room = resolve(77, JID.parse("Team@muc.example.com/alice"))
    assert room is not None and room.named and is_valid_id(room.dialog_id)
    assert room.dialog_id == named_room_id(77, "team") != named_room_id(78, "team")
    assert room.jid == "Team@muc.example.com"  # stanzas use the name as the client wrote it
    odd = resolve(77, JID.parse("77_not-an-id@muc.example.com"))
    assert odd is not None and odd.named
    assert resolve(77, JID.parse("muc.example.com")) is None


def test_history_request() -> None:
    """XEP-0045 §7.2.14: maxstanzas, maxchars=0, seconds and since."""
    muc = "http://jabber.org/protocol/muc"

    def join(history: str) -> tuple[int, int | None]:
        return history_wanted(
            fromstring(
                f'<presence xmlns="jabber:client"><x xmlns="{muc}">{history}</x></presence>'
            ),
            1_000_000,
        )

    assert history_wanted(fromstring('<presence xmlns="jabber:client"/>'), 0) == (20, None)
    assert join("") == (20, None)
    assert join('<history maxstanzas="5"/>') == (5, None)
    assert join('<history maxstanzas="500"/>') == (50, None)
    assert join('<history maxchars="0"/>')[0] == 0
    assert join('<history seconds="10"/>') == (50, 990_000)
    assert join('<history since="1970-01-01T00:00:01Z"/>') == (50, 1000)
    assert join('<history since="yesterday"/>') == (50, None)


def test_occupant_presence_carries_both_110_forms_and_the_new_nick() -> None:
    """XEP-0045 §7.2.3/§7.6.3 and connectycube-wire §10.11 (the SDK's ``<xmlns>``)."""
    presence = st.occupant_presence(
        "r@muc.example.com/bob",
        "2-1@example.com/x",
        affiliation="member",
        role="participant",
        codes=("110", "303"),
        unavailable=True,
        sdk_code="110",
        new_nick="robert",
    )
    x = presence.find(f"{{{st.MUC_USER}}}x")
    assert x is not None
    item = x.find(f"{{{st.MUC_USER}}}item")
    assert item is not None and item.get("nick") == "robert"
    assert [s.get("code") for s in x.findall(f"{{{st.MUC_USER}}}status")] == ["110", "303"]
    assert x.findtext(f"{{{st.MUC_USER}}}xmlns/{{{st.MUC_USER}}}code") == "110"
