"""The pure parts of XEP-0352 (what waits) and XEP-0363 (request, slot, errors), and the
stream's handling of CSI nonzas, fed as bytes."""

from __future__ import annotations

from xml.etree.ElementTree import Element, fromstring

import pytest

from tests.unit.gateways.xmpp.test_protocol import AUTH, HEADER, out
from tidings.gateways.xmpp.events import NonzaReceived, StreamClosed
from tidings.gateways.xmpp.protocol import XmppStream
from tidings.gateways.xmpp.state import StreamState
from tidings.gateways.xmpp.xep_0352.hold import MAX_HELD, ClientState
from tidings.gateways.xmpp.xep_0363.stanza import (
    BadRequest,
    disco_extras,
    file_too_large,
    parse_request,
    slot,
)

C = "jabber:client"
STATES = "http://jabber.org/protocol/chatstates"


def stanza(xml: str) -> Element:
    return fromstring(
        xml.replace("<message", f"<message xmlns='{C}'", 1)
        .replace("<presence", f"<presence xmlns='{C}'", 1)
        .replace("<iq", f"<iq xmlns='{C}'", 1)
    )


def presence(sender: str, show: str) -> Element:
    return stanza(f"<presence from='{sender}'><show>{show}</show></presence>")


def chat_state(sender: str, state: str) -> Element:
    return stanza(f"<message from='{sender}' type='chat'><{state} xmlns='{STATES}'/></message>")


def test_active_client_holds_nothing() -> None:
    csi = ClientState()
    assert not csi.hold(presence("b@x/1", "away"))
    assert len(csi) == 0


def test_inactive_keeps_the_latest_presence_per_jid_and_chat_state_per_sender() -> None:
    """XEP-0352 §3.2: only what is still true when the client looks again."""
    csi = ClientState()
    csi.inactive = True
    first = presence("b@x/1", "away")
    assert csi.hold(first)
    assert csi.hold(chat_state("b@x/1", "composing"))
    assert csi.hold(presence("c@x/1", "xa"))
    latest = presence("b@x/1", "dnd")
    assert csi.hold(latest)
    paused = chat_state("b@x/1", "paused")
    assert csi.hold(paused)
    held = csi.release()
    assert [h.findtext(f"{{{C}}}show") for h in held[:2]] == ["xa", "dnd"]
    assert held[2] is paused and len(held) == 3
    assert len(csi) == 0


def test_subscription_requests_and_own_room_presence_go_at_once() -> None:
    csi = ClientState()
    csi.inactive = True
    assert not csi.hold(stanza("<presence from='b@x' type='subscribe'/>"))
    own = stanza(
        "<presence from='room@muc.x/me'><x xmlns='http://jabber.org/protocol/muc#user'>"
        "<status code='110'/></x></presence>"
    )
    assert not csi.hold(own)
    assert csi.hold(stanza("<presence from='room@muc.x/other'/>"))
    assert csi.hold(stanza("<presence from='b@x/1' type='unavailable'/>"))


def test_receipts_and_markers_wait_in_order_bodies_and_errors_do_not() -> None:
    csi = ClientState()
    csi.inactive = True
    receipt = stanza("<message from='b@x/1'><received xmlns='urn:xmpp:receipts' id='1'/></message>")
    marker = stanza(
        "<message from='b@x/1'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>"
    )
    assert csi.hold(receipt) and csi.hold(marker)
    assert csi.release() == [receipt, marker]
    body = stanza(f"<message from='b@x/1'><body>hi</body><active xmlns='{STATES}'/></message>")
    error = stanza("<message from='b@x/1' type='error'><error type='cancel'/></message>")
    unknown = stanza("<message from='b@x/1'><x xmlns='jabber:x:conference' jid='r@m'/></message>")
    for important in (body, error, unknown):
        assert not csi.hold(important)


def test_an_iq_passes_without_releasing_a_message_releases() -> None:
    csi = ClientState()
    csi.inactive = True
    csi.hold(presence("b@x/1", "away"))
    assert not csi.hold(stanza("<iq type='result' id='p'/>"))
    assert not csi.releases(stanza("<iq type='result' id='p'/>"))
    assert csi.releases(stanza("<message><body>x</body></message>"))


def test_the_queue_is_bounded_by_releasing_not_dropping() -> None:
    csi = ClientState()
    csi.inactive = True
    for i in range(MAX_HELD):
        csi.hold(presence(f"u{i}@x/1", "away"))
    assert not csi.overflowing()
    csi.hold(presence("one-more@x/1", "away"))
    assert csi.overflowing() and len(csi.release()) == MAX_HELD + 1


def ready_stream() -> XmppStream:
    stream = XmppStream("localhost")
    stream.receive_data(HEADER + AUTH)
    stream.events_received()
    stream.auth_succeeded()
    stream.receive_data(HEADER)
    features = out(stream)
    assert b'<csi xmlns="urn:xmpp:csi:0"/>' in features  # XEP-0352 §4.1
    stream.receive_data(
        b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
    )
    stream.events_received()
    stream.bind_succeeded("b1", "101-77@localhost/r")
    out(stream)
    assert stream.state is StreamState.READY
    return stream


def test_csi_nonzas_reach_the_gateway_once_bound() -> None:
    stream = ready_stream()
    stream.receive_data(b"<inactive xmlns='urn:xmpp:csi:0'/><active xmlns='urn:xmpp:csi:0'/>")
    events = stream.events_received()
    assert [type(e) for e in events] == [NonzaReceived, NonzaReceived]
    assert not stream.closed


def test_csi_before_authentication_and_unknown_elements_are_stream_errors() -> None:
    """RFC 6120 §4.9.3.22: a first-level element the server does not support."""
    early = XmppStream("localhost")
    early.receive_data(HEADER + b"<inactive xmlns='urn:xmpp:csi:0'/>")
    assert b"unsupported-stanza-type" in out(early)
    assert early.closed
    stream = ready_stream()
    stream.receive_data(b"<frob xmlns='urn:example'/>")
    assert b"unsupported-stanza-type" in out(stream)
    assert StreamClosed("unsupported-stanza-type") in stream.events_received()


def test_slot_request_parsing() -> None:
    ns = "urn:xmpp:http:upload:0"
    ok = parse_request(Element(f"{{{ns}}}request", {"filename": "a.jpg", "size": "12"}))
    assert (ok.filename, ok.size, ok.content_type) == ("a.jpg", 12, None)
    for attrs in ({"size": "1"}, {"filename": "a", "size": "x"}, {"filename": "a", "size": "-1"}):
        with pytest.raises(BadRequest):
            parse_request(Element(f"{{{ns}}}request", attrs))


def test_slot_errors_and_disco_form_shapes() -> None:
    ns = "urn:xmpp:http:upload:0"
    built = slot("https://h/p", "https://h/g", {"Authorization": "Bearer t"})
    assert built.find(f"{{{ns}}}put").get("url") == "https://h/p"
    assert built.find(f"{{{ns}}}put/{{{ns}}}header").text == "Bearer t"
    assert built.find(f"{{{ns}}}get").get("url") == "https://h/g"
    assert file_too_large(5).findtext(f"{{{ns}}}max-file-size") == "5"
    identity, form = disco_extras(42)
    assert (identity.get("category"), identity.get("type")) == ("store", "file")
    values = {
        f.get("var"): f.findtext("{jabber:x:data}value") for f in form.iter("{jabber:x:data}field")
    }
    assert values == {"FORM_TYPE": ns, "max-file-size": "42"}
