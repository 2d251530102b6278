"""SCRAM on the server side (RFC 5802, RFC 7677), sans-I/O: the RFCs' own exchanges,
then every way a client message can be wrong, then the stream around it (RFC 6120 §6)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tidings.core.scram_keys import (
    SaslPrepError,
    ScramKeys,
    derive,
    derive_all,
    digest,
    mac,
    saslprep,
)
from tidings.gateways.xmpp.channel_binding import server_end_point
from tidings.gateways.xmpp.events import AuthRequested, SaslResponse
from tidings.gateways.xmpp.protocol import XmppStream
from tidings.gateways.xmpp.sasl import SaslError
from tidings.gateways.xmpp.scram import SASL_CB, ClientFirst, ScramServer, parse_client_first

# RFC 5802 §5: user "user", password "pencil", SCRAM-SHA-1.
SHA1_SALT = base64.b64decode("QSXCR+Q6sek8bf92")
SHA1_CLIENT_FIRST = b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
SHA1_SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j"
SHA1_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SHA1_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
SHA1_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

# RFC 7677 §3: the same user and password, SCRAM-SHA-256.
SHA256_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
SHA256_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SHA256_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SHA256_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
SHA256_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SHA256_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def sha1_keys() -> ScramKeys:
    return derive("SHA-1", "pencil", SHA1_SALT, 4096)


def sha256_keys() -> ScramKeys:
    return derive("SHA-256", "pencil", SHA256_SALT, 4096)


def test_rfc5802_example_exchange() -> None:
    first = parse_client_first("SCRAM-SHA-1", SHA1_CLIENT_FIRST, bindings={})
    assert (first.username, first.nonce, first.gs2_header) == (
        "user",
        "fyko+d2lbbFgONRv9qkxdawL",
        "n,,",
    )
    server = ScramServer(first, sha1_keys(), server_nonce=SHA1_SERVER_NONCE)
    assert server.server_first == SHA1_SERVER_FIRST
    assert server.finish(SHA1_CLIENT_FINAL) == SHA1_SERVER_FINAL


def test_rfc7677_example_exchange() -> None:
    first = parse_client_first("SCRAM-SHA-256", SHA256_CLIENT_FIRST, bindings={})
    server = ScramServer(first, sha256_keys(), server_nonce=SHA256_SERVER_NONCE)
    assert server.server_first == SHA256_SERVER_FIRST
    assert server.finish(SHA256_CLIENT_FINAL) == SHA256_SERVER_FINAL


def test_a_wrong_proof_is_not_authorized_and_the_exchange_is_single_use() -> None:
    first = parse_client_first("SCRAM-SHA-256", SHA256_CLIENT_FIRST, bindings={})
    wrong = derive("SHA-256", "pencil2", SHA256_SALT, 4096)
    server = ScramServer(first, wrong, server_nonce=SHA256_SERVER_NONCE)
    with pytest.raises(SaslError) as refused:
        server.finish(SHA256_CLIENT_FINAL)
    assert refused.value.condition == "not-authorized"
    right = ScramServer(first, sha256_keys(), server_nonce=SHA256_SERVER_NONCE)
    right.finish(SHA256_CLIENT_FINAL)
    with pytest.raises(SaslError):  # a replayed final message gets nothing
        right.finish(SHA256_CLIENT_FINAL)


def test_keys_of_another_hash_are_a_programming_error() -> None:
    first = parse_client_first("SCRAM-SHA-256", SHA256_CLIENT_FIRST, bindings={})
    with pytest.raises(ValueError):
        ScramServer(first, sha1_keys())


@pytest.mark.parametrize(
    ("mechanism", "message", "condition"),
    [
        ("SCRAM-SHA-1", b"", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=user", "malformed-request"),
        ("SCRAM-SHA-1", b"x,,n=user,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,m=ext,n=user,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=user,r=abc,m=ext", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=us=2Ber,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=user,r=a\x01c", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=user,r=", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,r=abc,n=user", "malformed-request"),
        ("SCRAM-SHA-1", b"n,,n=\xff\xfe,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"n,x=y,n=user,r=abc", "malformed-request"),
        ("SCRAM-SHA-1", b"p=tls-unique,,n=user,r=abc", "malformed-request"),
        ("SCRAM-SHA-1-PLUS", b"n,,n=user,r=abc", "malformed-request"),
        ("SCRAM-SHA-1-PLUS", b"p=tls-exporter,,n=user,r=abc", "malformed-request"),
        ("SCRAM-MD5", b"n,,n=user,r=abc", "invalid-mechanism"),
    ],
)
def test_bad_client_first_messages(mechanism: str, message: bytes, condition: str) -> None:
    with pytest.raises(SaslError) as refused:
        parse_client_first(mechanism, message, bindings={"tls-server-end-point": b"h"})
    assert refused.value.condition == condition


def test_names_unescape_and_optional_extensions_are_ignored() -> None:
    first = parse_client_first("SCRAM-SHA-1", b"n,a=a=3Db=2Cc,n=u=2Cv,r=abc,x=ext", bindings={})
    assert (first.authzid, first.username, first.nonce) == ("a=b,c", "u,v", "abc")
    assert first.bare == "n=u=2Cv,r=abc,x=ext"


def test_y_flag_is_a_downgrade_when_plus_was_offered() -> None:
    """RFC 5802 §6: "y" says the client binds channels but thought we did not."""
    with pytest.raises(SaslError) as refused:
        parse_client_first("SCRAM-SHA-1", b"y,,n=user,r=abc", bindings={"tls-unique": b"x"})
    assert refused.value.condition == "not-authorized"
    # Where no -PLUS mechanism was offered, "y" is the honest answer.
    first = parse_client_first("SCRAM-SHA-1", b"y,,n=user,r=abc", bindings={})
    assert first.gs2_header == "y,,"


def test_y_after_a_refused_binding_type_is_no_downgrade() -> None:
    """slixmpp 1.8 (poezio's) binds only tls-unique, absent on TLS 1.3: its -PLUS try is
    refused for the binding type, then it retries without binding and says "y". The
    stream saw the client use -PLUS, so the list was not stripped: "y" is accepted on
    that stream, and only after such a refusal."""
    tls13 = {"tls-server-end-point": b"x"}
    stream = _tls_stream(tls13)
    stream.receive_data(HEADER)
    stream.events_received()
    stream.data_to_send()

    def auth(mechanism: str, message: bytes) -> bytes:
        payload = base64.b64encode(message).decode()
        stream.receive_data(
            f"<auth xmlns='{SASL}' mechanism='{mechanism}'>{payload}</auth>".encode()
        )
        return _out(stream)

    assert b"<not-authorized" in auth("SCRAM-SHA-256", b"y,,n=user,r=abc")  # a downgrade
    refused = auth("SCRAM-SHA-256-PLUS", b"p=tls-unique,,n=user,r=abc")
    assert b"<malformed-request" in refused and b"tls-unique" in refused
    assert auth("SCRAM-SHA-256", b"y,,n=user,r=abc") == b""  # accepted: the gateway decides
    [requested] = stream.events_received()
    assert isinstance(requested, AuthRequested) and requested.credentials.gs2_header == "y,,"
    # The pure check stays strict without that history.
    with pytest.raises(SaslError):
        parse_client_first("SCRAM-SHA-256", b"y,,n=user,r=abc", bindings=tls13)


def _client_final(
    first: ClientFirst, server: ScramServer, password: str, binding: bytes, salt: bytes
) -> bytes:
    """A client's final message computed here from RFC 5802 §3 (the client side)."""
    name = first.hash_name
    salted = hashlib.pbkdf2_hmac(name.replace("-", "").lower(), password.encode(), salt, 4096)
    client_key = mac(name, salted, b"Client Key")
    channel = base64.b64encode(first.gs2_header.encode() + binding).decode()
    without_proof = f"c={channel},r={server.nonce}"
    auth = f"{first.bare},{server.server_first.decode()},{without_proof}".encode()
    signature = mac(name, digest(name, client_key), auth)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


def test_plus_checks_the_channel_binding_data() -> None:
    bindings = {"tls-server-end-point": b"\x01" * 32}
    first = parse_client_first(
        "SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=user,r=abc", bindings=bindings
    )
    keys = sha256_keys()
    server = ScramServer(first, keys, bindings["tls-server-end-point"])
    good = _client_final(first, server, "pencil", bindings["tls-server-end-point"], SHA256_SALT)
    assert server.finish(good).startswith(b"v=")
    # The same proof over another channel (a relay's): refused.
    relayed = ScramServer(first, keys, b"\x02" * 32)
    forged = _client_final(first, relayed, "pencil", bindings["tls-server-end-point"], SHA256_SALT)
    with pytest.raises(SaslError) as refused:
        relayed.finish(forged)
    assert refused.value.condition == "not-authorized"


@pytest.mark.parametrize(
    "final",
    [
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",  # no proof
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=!!!",
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=AAAA",  # short proof
        b"c=biws,m=x,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    ],
)
def test_bad_client_final_messages_are_malformed(final: bytes) -> None:
    first = parse_client_first("SCRAM-SHA-1", SHA1_CLIENT_FIRST, bindings={})
    server = ScramServer(first, sha1_keys(), server_nonce=SHA1_SERVER_NONCE)
    with pytest.raises(SaslError) as refused:
        server.finish(final)
    assert refused.value.condition == "malformed-request"


@pytest.mark.parametrize(
    "final",
    [
        # another nonce
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawLXXXX,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        # "y,," in c= after "n,," in the first message
        b"c=eSws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    ],
)
def test_a_client_final_for_another_exchange_is_not_authorized(final: bytes) -> None:
    first = parse_client_first("SCRAM-SHA-1", SHA1_CLIENT_FIRST, bindings={})
    server = ScramServer(first, sha1_keys(), server_nonce=SHA1_SERVER_NONCE)
    with pytest.raises(SaslError) as refused:
        server.finish(final)
    assert refused.value.condition == "not-authorized"


def test_saslprep() -> None:
    """RFC 4013 §3's examples."""
    assert saslprep("I\u00adX") == "IX"
    assert saslprep("user") == "user"
    assert saslprep("\u00aa") == "a"
    assert saslprep("\u2168") == "IX"
    assert saslprep("a\u00a0b") == "a b"
    for bad in ("\u0007", "\u0627\u0031"):
        with pytest.raises(SaslPrepError):
            saslprep(bad)


def test_derive_all_gives_one_salted_key_per_hash_and_none_for_unprepped_passwords() -> None:
    keys = derive_all("correct horse", 4096)
    assert sorted(k.hash_name for k in keys) == ["SHA-1", "SHA-256"]
    assert len({k.salt for k in keys}) == 2 and all(k.iterations == 4096 for k in keys)
    assert derive_all("bell\u0007", 4096) == ()


def test_server_end_point_hashes_the_certificate_with_its_signature_hash(tmp_path) -> None:
    """RFC 5929 §4.1: SHA-256 for our ECDSA-with-SHA-256 certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from tidings.gateways.xmpp.certificates import dev_certificate

    cert_path, _ = dev_certificate(tmp_path, "example.org")
    pem = cert_path.read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    assert server_end_point(pem) == hashlib.sha256(der).digest()


# -- the stream (RFC 6120 §6) ----------------------------------------------------------

HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" to='localhost' version='1.0'>"
)
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def _tls_stream(bindings: dict[str, bytes]) -> XmppStream:
    stream = XmppStream("localhost", tls_available=True)
    stream.receive_data(HEADER)
    stream.receive_data(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    stream.tls_established(bindings)
    stream.events_received()
    stream.data_to_send()
    return stream


def _out(stream: XmppStream) -> bytes:
    return b"".join(stream.data_to_send())


def test_mechanisms_offered_in_order_with_xep0440() -> None:
    stream = _tls_stream({"tls-server-end-point": b"h"})
    stream.receive_data(HEADER)
    features = _out(stream)
    offered = [part.split(b"<", 1)[0].decode() for part in features.split(b"<mechanism>")[1:]]
    assert offered == [
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1",
        "PLAIN",
    ]
    assert f'xmlns="{SASL_CB}"'.encode() in features
    assert b'<channel-binding type="tls-server-end-point"' in features
    without = _tls_stream({})
    without.receive_data(HEADER)
    plain_features = _out(without)
    assert b"-PLUS" not in plain_features and SASL_CB.encode() not in plain_features
    assert b"<mechanism>SCRAM-SHA-256</mechanism>" in plain_features


def test_websocket_streams_offer_plain_only() -> None:
    stream = XmppStream("localhost", websocket=True)
    stream.receive_data(
        b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>"
    )
    features = _out(stream)
    assert b"<mechanism>PLAIN</mechanism>" in features and b"SCRAM" not in features
    stream.receive_data(
        f"<auth xmlns='{SASL}' mechanism='SCRAM-SHA-1'>".encode()
        + base64.b64encode(b"n,,n=1-1,r=abc")
        + b"</auth>"
    )
    assert b"<invalid-mechanism" in _out(stream)


def test_stream_scram_round_trip_and_empty_initial_response() -> None:
    stream = _tls_stream({})
    stream.receive_data(HEADER)
    stream.events_received()
    stream.data_to_send()
    # RFC 6120 §6.4.2: no initial response, so the server sends an empty challenge.
    stream.receive_data(f"<auth xmlns='{SASL}' mechanism='SCRAM-SHA-1'/>".encode())
    assert b"<challenge" in _out(stream) and stream.events_received() == []
    stream.receive_data(
        f"<response xmlns='{SASL}'>".encode() + base64.b64encode(SHA1_CLIENT_FIRST) + b"</response>"
    )
    [auth] = stream.events_received()
    assert isinstance(auth, AuthRequested) and isinstance(auth.credentials, ClientFirst)
    server = ScramServer(auth.credentials, sha1_keys(), server_nonce=SHA1_SERVER_NONCE)
    stream.sasl_challenge(server.server_first)
    assert base64.b64encode(SHA1_SERVER_FIRST) in _out(stream)
    stream.receive_data(
        f"<response xmlns='{SASL}'>".encode() + base64.b64encode(SHA1_CLIENT_FINAL) + b"</response>"
    )
    [response] = stream.events_received()
    assert isinstance(response, SaslResponse)
    stream.auth_succeeded(server.finish(response.data))
    assert base64.b64encode(SHA1_SERVER_FINAL) in _out(stream)
    assert stream.authenticated


@pytest.mark.parametrize(
    ("payload", "condition"),
    [
        (b"not base64!", b"incorrect-encoding"),
        (base64.b64encode(b"n,,m=x,n=user,r=abc"), b"malformed-request"),
        (b"=", b"malformed-request"),
    ],
)
def test_stream_refuses_bad_client_first_and_stays_open(payload: bytes, condition: bytes) -> None:
    stream = _tls_stream({})
    stream.receive_data(HEADER)
    stream.data_to_send()
    stream.events_received()
    stream.receive_data(
        f"<auth xmlns='{SASL}' mechanism='SCRAM-SHA-256'>".encode() + payload + b"</auth>"
    )
    answer = _out(stream)
    assert b"<failure" in answer and condition in answer
    assert not stream.closed and stream.events_received() == []
    # A response out of turn is refused too, and the stream still stands.
    stream.receive_data(f"<response xmlns='{SASL}'>AAAA</response>".encode())
    assert b"<failure" in _out(stream) and not stream.closed
