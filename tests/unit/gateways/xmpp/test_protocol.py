"""XmppStream fed with bytes: events and output (RFC 6120 §4-§7, RFC 7395)."""

from __future__ import annotations

import base64

from tidings.gateways.xmpp.events import (
    AuthRequested,
    BindRequested,
    StanzaReceived,
    StartTlsRequested,
    StreamClosed,
    StreamOpened,
)
from tidings.gateways.xmpp.protocol import XmppStream
from tidings.gateways.xmpp.state import StreamState

HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" to='localhost' version='1.0'>"
)
AUTH = (
    b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
    + base64.b64encode(b"\x00101-77\x00alicepw")
    + b"</auth>"
)


def out(stream: XmppStream) -> bytes:
    return b"".join(stream.data_to_send())


def test_tcp_negotiation_to_ready() -> None:
    stream = XmppStream("localhost", tls_available=True)
    stream.receive_data(HEADER)
    assert stream.events_received() == [StreamOpened(to="localhost", from_="")]
    sent = out(stream)
    assert b"<stream:stream" in sent and b"<starttls" in sent and b"<required" in sent
    # RFC 6120 §5.3.1: no SASL mechanism is offered before TLS, and PLAIN sent anyway is
    # refused: TLS is required when it is offered.
    assert b"<mechanism>" not in sent
    stream.receive_data(AUTH)
    assert b"encryption-required" in out(stream)
    stream.receive_data(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert stream.events_received() == [StartTlsRequested()]
    assert b"<proceed" in out(stream)
    stream.tls_established()
    stream.receive_data(HEADER)
    after_tls = out(stream)
    assert b"<starttls" not in after_tls and b"<mechanism>PLAIN" in after_tls
    stream.events_received()
    stream.receive_data(AUTH)
    [auth] = stream.events_received()
    assert isinstance(auth, AuthRequested)
    assert (auth.credentials.authcid, auth.credentials.password) == ("101-77", "alicepw")
    stream.auth_succeeded()
    assert b'<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>' in out(stream)
    stream.receive_data(HEADER)
    stream.events_received()
    assert b"<bind" in out(stream)
    stream.receive_data(
        b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
    )
    assert stream.events_received() == [BindRequested("b1", "")]
    stream.bind_succeeded("b1", "101-77@localhost/r")
    assert b"<jid>101-77@localhost/r</jid>" in out(stream)
    assert stream.state is StreamState.READY
    stream.receive_data(b"<message to='102-77@localhost'><body>hi</body></message>")
    [event] = stream.events_received()
    assert isinstance(event, StanzaReceived)
    stream.receive_data(b"</stream:stream>")
    assert stream.events_received() == [StreamClosed()]
    assert out(stream).endswith(b"</stream:stream>")


def test_stanza_before_auth_is_a_stream_error() -> None:
    stream = XmppStream("localhost")
    stream.receive_data(HEADER + b"<message><body>x</body></message>")
    sent = out(stream)
    assert b"<stream:error><not-authorized" in sent
    assert sent.endswith(b"</stream:stream>")
    assert stream.events_received()[-1] == StreamClosed("not-authorized")
    assert stream.closed


def test_malformed_xml_is_a_stream_error() -> None:
    stream = XmppStream("localhost")
    stream.receive_data(HEADER + b"<a><b></a>")
    assert b"<not-well-formed" in out(stream)
    assert stream.closed


def test_bad_plain_payload_is_a_sasl_failure() -> None:
    stream = XmppStream("localhost")
    stream.receive_data(HEADER)
    out(stream)
    stream.receive_data(
        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!</auth>"
    )
    assert b"<incorrect-encoding" in out(stream)
    stream.receive_data(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'/>")
    assert b"<invalid-mechanism" in out(stream)
    stream.auth_failed()
    assert b"<not-authorized" in out(stream)
    assert not stream.closed


def test_websocket_framing_declares_namespaces_per_frame() -> None:
    """RFC 7395 §3.3; connectycube-wire §9.2: features declare xmlns:stream themselves."""
    stream = XmppStream("chat.example.com", websocket=True)
    stream.receive_data(
        b'<open version="1.0" xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="chat.example.com"/>'
    )
    opened, features = stream.data_to_send()
    assert opened.startswith(b'<open xmlns="urn:ietf:params:xml:ns:xmpp-framing"')
    assert b'from="chat.example.com"' in opened
    assert features.startswith(b'<stream:features xmlns:stream="http://etherx.jabber.org/streams">')
    assert b"starttls" not in features
    stream.receive_data(b'<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>')
    assert stream.data_to_send() == [b'<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>']
