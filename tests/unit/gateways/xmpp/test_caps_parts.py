"""The pure parts of XEP-0115 (the verification string, §5; reading ``<c/>``; the
bounded cache) and of XEP-0085 (the five chat states), fed elements directly."""

from __future__ import annotations

import pytest

from tidings.gateways.xmpp.protocol import XmppStream
from tidings.gateways.xmpp.xep_0085.stanza import STATES, chat_state, state_element
from tidings.gateways.xmpp.xep_0115 import stanza as caps
from tidings.gateways.xmpp.xep_0115.cache import CapsCache
from tidings.gateways.xmpp.xmlstream import parse_one

DISCO = "http://jabber.org/protocol/disco#info"

SIMPLE = f"""<query xmlns='{DISCO}' node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>
  <identity category='client' name='Exodus 0.9.1' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
</query>"""

COMPLEX = f"""<query xmlns='{DISCO}' node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
  <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
  <feature var='http://jabber.org/protocol/caps'/>
  <feature var='http://jabber.org/protocol/disco#info'/>
  <feature var='http://jabber.org/protocol/disco#items'/>
  <feature var='http://jabber.org/protocol/muc'/>
  <x xmlns='jabber:x:data' type='result'>
    <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
    <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
    <field var='os'><value>Mac</value></field>
    <field var='os_version'><value>10.5.1</value></field>
    <field var='software'><value>Psi</value></field>
    <field var='software_version'><value>0.11</value></field>
  </x>
</query>"""


def test_ver_of_the_xep_examples() -> None:
    """§5.2 (identities and features) and §5.3 (two languages and a XEP-0128 form)."""
    assert caps.ver_of(parse_one(SIMPLE.encode())) == "QgayPKawpkPSDYmwT/WM94uAlu0="
    assert caps.ver_of(parse_one(COMPLEX.encode())) == "q07IKJEyjvHSyhy//CH0CxmKi8w="
    assert caps.verification_string(parse_one(SIMPLE.encode())) == (
        "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
        "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
        "http://jabber.org/protocol/muc<"
    )


def test_ill_formed_answers_never_match() -> None:
    """§5.4: a duplicate feature or identity, or two forms of one
    FORM_TYPE, make the answer unusable; a form whose FORM_TYPE is not hidden is left
    out of the string, not an error."""
    announced = caps.Caps("sha-1", "n", "QgayPKawpkPSDYmwT/WM94uAlu0=")
    assert caps.matches(parse_one(SIMPLE.encode()), announced)
    twice = SIMPLE.replace("</query>", "<feature var='http://jabber.org/protocol/muc'/></query>")
    assert not caps.matches(parse_one(twice.encode()), announced)
    with pytest.raises(caps.IllFormed):
        caps.verification_string(parse_one(twice.encode()))
    form = COMPLEX[COMPLEX.index("<x ") : COMPLEX.index("</x>") + 4]
    with pytest.raises(caps.IllFormed):
        caps.verification_string(parse_one(COMPLEX.replace("</x>", "</x>" + form).encode()))
    visible = COMPLEX.replace("type='hidden'", "type='text-single'")
    assert caps.verification_string(parse_one(visible.encode())) == caps.verification_string(
        parse_one(COMPLEX[: COMPLEX.index("<x ")].encode() + b"</query>")
    )
    assert not caps.matches(parse_one(COMPLEX.encode()), announced)  # another ver


def test_read_caps_skips_legacy_and_unknown_hashes() -> None:
    def presence(attrs: str) -> bytes:
        return f"<presence xmlns='jabber:client'><c xmlns='{caps.NS}' {attrs}/></presence>".encode()

    assert caps.read_caps(parse_one(presence("hash='sha-1' node='n' ver='v='"))) == caps.Caps(
        "sha-1", "n", "v="
    )
    assert caps.read_caps(parse_one(presence("node='n' ver='1.0' ext='a b'"))) is None  # legacy
    assert caps.read_caps(parse_one(presence("hash='md5' node='n' ver='v='"))) is None
    assert caps.read_caps(parse_one(presence("hash='sha-1' node='n'"))) is None
    assert caps.read_caps(parse_one(b"<presence xmlns='jabber:client'/>")) is None
    assert caps.notify_nodes(frozenset({"a+notify", "b", "urn:x:c+notify"})) == {"a", "urn:x:c"}


def test_cache_is_bounded_and_keeps_the_recently_used() -> None:
    cache = CapsCache(2)
    cache.put(("sha-1", "a"), frozenset({"x"}))
    cache.put(("sha-1", "b"), frozenset({"y"}))
    assert cache.get(("sha-1", "a")) == {"x"}  # now the most recent
    cache.put(("sha-1", "c"), frozenset({"z"}))
    assert len(cache) == 2
    assert cache.get(("sha-1", "b")) is None and cache.get(("sha-1", "a")) == {"x"}


def test_caps_are_a_stream_feature_after_sasl_only() -> None:
    """§6.3: the server's ``<c/>`` comes with the features where bind is offered."""
    header = (
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
    )
    stream = XmppStream("localhost", caps=caps.caps_element("abc="))
    stream.receive_data(header)
    assert b"caps" not in b"".join(stream.data_to_send())
    stream.auth_succeeded()
    stream.receive_data(header)
    sent = b"".join(stream.data_to_send())
    assert b"<bind" in sent
    assert b'<c xmlns="http://jabber.org/protocol/caps" hash="sha-1"' in sent
    assert b'node="https://tidings.dev" ver="abc="' in sent


@pytest.mark.parametrize("state", STATES)
def test_each_chat_state_is_read_and_written_as_itself(state: str) -> None:
    """XEP-0085 §5: the state read is the state written back."""
    message = parse_one(
        f"<message xmlns='jabber:client'><{state} xmlns='{caps.NS.replace('caps', 'chatstates')}'/>"
        "</message>".encode()
    )
    assert chat_state(message) == state
    assert state_element(state == "composing", state).tag.endswith("}" + state)


def test_without_an_exact_state_typing_decides() -> None:
    assert state_element(True).tag.endswith("}composing")
    assert state_element(False).tag.endswith("}paused")
    assert state_element(False, "bogus").tag.endswith("}paused")
    assert (
        chat_state(parse_one(b"<message xmlns='jabber:client'><body>hi</body></message>")) is None
    )
