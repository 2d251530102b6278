"""What a message keeps of its extended content (RFC 6120 §8.4), and what it does not."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import extended
from tidings.gateways.xmpp.xmlstream import parse_one


def message(inner: str, type_: str = "chat") -> Element:
    return parse_one(f'<message xmlns="jabber:client" type="{type_}">{inner}</message>'.encode())


def test_unknown_elements_are_kept_and_server_elements_are_not() -> None:
    """XEP-0359 §3: a client's stanza-id is never trusted; the body is the core's."""
    stanza = message(
        "<body>hi</body>"
        '<origin-id xmlns="urn:xmpp:sid:0" id="o1"/>'
        '<stanza-id xmlns="urn:xmpp:sid:0" id="forged" by="x"/>'
        '<delay xmlns="urn:xmpp:delay" stamp="2020-01-01T00:00:00Z"/>'
        '<markable xmlns="urn:xmpp:chat-markers:0"/>'
        '<x xmlns="urn:example" a="1"><y>t &amp; u</y></x>'
    )
    kept = extended.restore(extended.keep(stanza, sdk=False))
    assert kept is not None and kept.standard and kept.type is None
    tags = [c.tag for c in kept.children]
    assert tags == ["{urn:xmpp:sid:0}origin-id", "{urn:example}x"]
    assert kept.children[1].findtext("{urn:example}y") == "t & u"


def test_type_normal_is_kept_and_sdk_messages_keep_nothing_extra() -> None:
    """RFC 6121 §5.2.2 ``normal``; a ConnectyCube message with nothing to keep stores nothing."""
    normal = extended.restore(extended.keep(message("<body>m</body>", "normal"), sdk=False))
    assert normal is not None and normal.type == "normal"
    sdk = message('<body>s</body><extraParams xmlns="jabber:client"><a>1</a></extraParams>')
    assert extended.keep(sdk, sdk=True) is None


def test_what_makes_a_bodiless_message_worth_storing() -> None:
    """XEP-0444 reactions and XEP-0424 retractions are content; chat states, receipts
    and markers are not (XEP-0085, XEP-0184, XEP-0333)."""
    reaction = message(
        '<reactions xmlns="urn:xmpp:reactions:0" id="m"><reaction>+</reaction></reactions>'
    )
    retraction = message('<retract xmlns="urn:xmpp:message-retract:1" id="m"/>')
    state = message('<composing xmlns="http://jabber.org/protocol/chatstates"/>')
    marker = message('<displayed xmlns="urn:xmpp:chat-markers:0" id="m"/>')
    receipt = message('<received xmlns="urn:xmpp:receipts" id="m"/>')
    assert extended.has_content(reaction) and extended.has_content(retraction)
    assert not any(extended.has_content(m) for m in (state, marker, receipt))


def test_size_limit() -> None:
    big = message(f'<x xmlns="urn:example">{"a" * (extended.MAX_BYTES + 1)}</x>')
    assert extended.too_large(extended.keep(big, sdk=False))
