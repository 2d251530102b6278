"""The incremental parser: RFC 6120 §11 restricted XML, limits, pieces of any size."""

from __future__ import annotations

import pytest

from tidings.gateways.xmpp.xmlstream import (
    ElementReceived,
    StreamFooter,
    StreamHeader,
    XmlStreamError,
    XmlStreamParser,
    parse_one,
)

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
    b" xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
)


def test_stanzas_come_out_whole_whatever_the_chunking() -> None:
    data = HEADER + b"<message to='a@b'><body>h&amp;i</body></message><iq id='1'/></stream:stream>"
    for size in (1, 3, 7, len(data)):
        parser = XmlStreamParser(stream_root=True)
        items = []
        for i in range(0, len(data), size):
            items += parser.feed(data[i : i + size])
        assert isinstance(items[0], StreamHeader)
        assert items[0].attrs["to"] == "localhost"
        message, iq = items[1], items[2]
        assert isinstance(message, ElementReceived) and isinstance(iq, ElementReceived)
        assert message.element.tag == "{jabber:client}message"
        assert message.element.find("{jabber:client}body").text == "h&i"
        assert iq.element.get("id") == "1"
        assert isinstance(items[3], StreamFooter)


@pytest.mark.parametrize(
    ("data", "condition"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "restricted-xml"),
        (b"<x><!-- hidden --></x>", "restricted-xml"),
        (b"<x><?pi data?></x>", "restricted-xml"),
        (b"<x>&undefined;</x>", "not-well-formed"),
        (b"<x><y></x>", "not-well-formed"),
    ],
)
def test_restricted_xml_is_refused(data: bytes, condition: str) -> None:
    with pytest.raises(XmlStreamError) as caught:
        XmlStreamParser(stream_root=False).feed(data)
    assert caught.value.condition == condition


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    bomb += b"".join(b'<!ENTITY l%d "%s">' % (i, b"&lol;" * 10) for i in range(10))
    bomb += b"]><lolz>&l9;</lolz>"
    with pytest.raises(XmlStreamError) as caught:
        XmlStreamParser(stream_root=False).feed(bomb)
    assert caught.value.condition == "restricted-xml"


def test_oversize_stanza_trips_while_it_arrives() -> None:
    parser = XmlStreamParser(stream_root=True, max_stanza_bytes=1000)
    parser.feed(HEADER + b"<message><body>")
    with pytest.raises(XmlStreamError) as caught:
        for _ in range(100):
            parser.feed(b"x" * 100)
    assert caught.value.condition == "policy-violation"


def test_many_small_stanzas_are_not_one_big_one() -> None:
    parser = XmlStreamParser(stream_root=True, max_stanza_bytes=200)
    parser.feed(HEADER)
    items = parser.feed(b"<message><body>hello</body></message>" * 100)
    assert len(items) == 100


def test_depth_is_bounded() -> None:
    with pytest.raises(XmlStreamError) as caught:
        XmlStreamParser(stream_root=False, max_depth=5).feed(b"<a>" * 6)
    assert caught.value.condition == "policy-violation"


def test_websocket_frame_is_exactly_one_element() -> None:
    assert parse_one(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>").tag.endswith("open")
    with pytest.raises(XmlStreamError):
        parse_one(b"<a/><b/>")
    with pytest.raises(XmlStreamError):
        parse_one(b"<a>")
