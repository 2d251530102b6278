"""Pure helpers: JIDs, SASL PLAIN, extraParams, stream management, serialization."""

from __future__ import annotations

import ast
from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

from tidings.gateways.xmpp.ext_connectycube.stanza import read_extra, write_extra
from tidings.gateways.xmpp.jid import JID, Addressing, parse_room_local, parse_user_local
from tidings.gateways.xmpp.sasl import SaslError, parse_plain
from tidings.gateways.xmpp.stanza import E, serialize
from tidings.gateways.xmpp.xep_0016.stanza import list_element, read_items
from tidings.gateways.xmpp.xep_0198.stanza import StreamManagement

XMPP = Path(__file__).resolve().parents[4] / "src" / "tidings" / "gateways" / "xmpp"
PURE = [
    "xmlstream.py",
    "protocol.py",
    "state.py",
    "events.py",
    "framing.py",
    "sasl.py",
    "jid.py",
    "stanza.py",
    "mapping.py",
    "namespaces.py",
    *(str(p.relative_to(XMPP)) for p in XMPP.glob("*/stanza.py")),
]


@pytest.mark.parametrize("name", PURE)
def test_protocol_modules_are_pure(name: str) -> None:
    """STYLE rule 1: no asyncio, no framework, no core, only the stdlib and own pure modules."""
    tree = ast.parse((XMPP / name).read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for imported in names:
            assert imported.split(".")[0] not in ("asyncio", "starlette", "fastapi"), imported
            if imported.startswith("tidings"):
                assert imported.startswith("tidings.gateways.xmpp"), imported


def test_jids() -> None:
    jid = JID.parse("101-77@Chat.Example.com/web-abc")
    assert (jid.local, jid.domain, jid.resource, jid.bare) == (
        "101-77",
        "chat.example.com",
        "web-abc",
        "101-77@chat.example.com",
    )
    assert parse_user_local("101-77") == (101, 77)
    assert parse_room_local("77_665b1f0ae4b0c0a1b2c3d4e5") == (77, "665b1f0ae4b0c0a1b2c3d4e5")
    scheme = Addressing("chat.example.com")
    assert str(scheme.room(77, "665b", 101)) == "77_665b@muc.chat.example.com/101"


def test_sasl_plain() -> None:
    """connectycube-wire §9.3: base64(NUL 101-77 NUL alicepw)."""
    creds = parse_plain("ADEwMS03NwBhbGljZXB3")
    assert (creds.authzid, creds.authcid, creds.password) == ("", "101-77", "alicepw")
    with pytest.raises(SaslError):
        parse_plain("=")


def test_extra_params_round_trip() -> None:
    """connectycube-wire §10.2: scalars, nested objects, attachments as attributes."""
    element = write_extra(
        dialog_id="665b1f0ae4b0c0a1b2c3d4e5",
        params={"k": "v", "obj": {"a": 1, "b": {"c": 2}}},
        attachments=[{"file_id": "ab12", "type": "photo", "size": 5}],
        save_to_history=True,
    )
    text = serialize(E("jabber:client", "message", {}, element), "jabber:client")
    assert "<extraParams>" in text and '<attachment file_id="ab12"' in text
    parsed = read_extra(fromstring(text.replace("<message>", "<message xmlns='jabber:client'>")))
    assert parsed.dialog_id == "665b1f0ae4b0c0a1b2c3d4e5" and parsed.save_to_history
    assert parsed.params == {"k": "v", "obj": {"a": "1", "b": {"c": "2"}}}
    assert parsed.attachments[0]["uid"] == "ab12"


def test_extra_params_leave_out_values_without_an_element_form() -> None:
    """connectycube-wire §10.2: a message param that is a list or null (possible from
    REST clients) has no element form; it is left out and the other params still go."""
    element = write_extra(
        dialog_id="665b1f0ae4b0c0a1b2c3d4e5",
        params={"tags": ["a", "b"], "gone": None, "k": "v"},
    )
    text = serialize(E("jabber:client", "message", {}, element), "jabber:client")
    parsed = read_extra(fromstring(text.replace("<message>", "<message xmlns='jabber:client'>")))
    assert parsed.params == {"k": "v"}


def test_privacy_items_come_in_pairs() -> None:
    """connectycube-wire §10.12: the user JID and muc.<domain>/<id>, in order."""
    rules = read_items(
        fromstring(
            "<list xmlns='jabber:iq:privacy' name='blocked'>"
            "<item type='jid' value='998-77@d' action='deny' order='1'/>"
            "<item type='jid' value='muc.d/998' action='deny' order='2'/>"
            "<item type='jid' value='999-77@d' action='deny' order='3'><message/></item>"
            "<item type='jid' value='muc.d/999' action='deny' order='4'><message/></item>"
            "</list>"
        ),
        "d",
        77,
    )
    assert [(r.user_id, r.mutual) for r in rules] == [(998, True), (999, False)]
    values = [i.get("value") for i in list_element("blocked", rules, "d", 77)]
    assert values == ["998-77@d", "muc.d/998", "999-77@d", "muc.d/999"]


def test_stream_management_resends_exactly_the_unacked() -> None:
    """XEP-0198 §5: after resume h=N, stanzas N+1.. are sent again, once."""
    sm = StreamManagement(resumable=True)
    stanzas = [E("jabber:client", "message", {"id": str(i)}) for i in range(1, 6)]
    for stanza in stanzas:
        sm.sending(stanza)
    assert sm.acked(2)
    assert [s.get("id") for s in sm.resend_after(3)] == ["4", "5"]
    assert sm.resend_after(99) is None  # acknowledges more than was ever sent


def test_serialize_uses_default_namespaces() -> None:
    """No ns0: prefixes: the SDK's parser matches by name and xmlns attribute."""
    element = E(
        "jabber:client",
        "message",
        {"to": "a@b"},
        E("jabber:client", "body", text="<hi>"),
        E("urn:xmpp:chat-markers:0", "markable"),
    )
    assert serialize(element) == (
        '<message xmlns="jabber:client" to="a@b"><body>&lt;hi&gt;</body>'
        '<markable xmlns="urn:xmpp:chat-markers:0"/></message>'
    )
