"""The server side of SASL SCRAM (RFC 5802) as XMPP uses it (RFC 6120 §6), sans-I/O.

Mechanisms: SCRAM-SHA-1 (RFC 5802, mandatory to implement in XMPP, RFC 6120
§13.8), SCRAM-SHA-256 (RFC 7677), and their ``-PLUS`` forms that bind the exchange
to the TLS channel (RFC 5802 §6): ``tls-server-end-point`` (RFC 5929 §4, the hash
of our certificate; works on every TLS version) and ``tls-unique`` (RFC 5929 §3,
TLS 1.2 and older only: RFC 9266 forbids it on TLS 1.3). ``tls-exporter``
(RFC 9266) needs an exporter API Python's ``ssl`` does not have, so it is not
offered; XEP-0440 tells clients which types are.

The exchange (RFC 5802 §3, §5)::

    C: n,,n=user,r=<client nonce>                          client-first (parse_client_first)
    S: r=<client nonce + server nonce>,s=<salt>,i=<count>  server-first (ScramServer)
    C: c=<base64 gs2 header + binding>,r=<nonce>,p=<proof> client-final (ScramServer.finish)
    S: v=<server signature>                                server-final, in <success/>

Nothing here reads a socket, a clock or the database: the link looks the user's
keys up between the first two messages. Every refusal is a :class:`SaslError`
carrying the RFC 6120 §6.5 condition to send (§6.5.8 ``malformed-request``,
§6.5.10 ``not-authorized``, §6.5.6 ``invalid-authzid``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from tidings.core.scram_keys import SCRAM_HASHES, ScramKeys, digest, mac
from tidings.gateways.xmpp.sasl import SaslError

#: Mechanism name -> (hash name, binds the channel); in the order offered, strongest first.
SCRAM_MECHANISMS: dict[str, tuple[str, bool]] = {
    "SCRAM-SHA-256-PLUS": ("SHA-256", True),
    "SCRAM-SHA-1-PLUS": ("SHA-1", True),
    "SCRAM-SHA-256": ("SHA-256", False),
    "SCRAM-SHA-1": ("SHA-1", False),
}
#: XEP-0440 §2: the stream feature listing the channel-binding types a stream offers.
SASL_CB = "urn:xmpp:sasl-cb:0"
#: Bytes of randomness in our half of the nonce (RFC 5802 §5.1: "at least 64 bits" advised).
SERVER_NONCE_BYTES = 18


@dataclass(frozen=True, slots=True)
class ClientFirst:
    """A parsed client-first-message (RFC 5802 §7)."""

    mechanism: str
    hash_name: str
    #: ``gs2-header`` as sent, e.g. ``n,,`` or ``p=tls-unique,,``; repeated in ``c=``.
    gs2_header: str
    #: The channel-binding type after ``p=``, or "" for ``n``/``y``.
    binding: str
    authzid: str
    username: str
    nonce: str
    #: ``client-first-message-bare``: the part that enters the AuthMessage.
    bare: str


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("malformed-request", "bad base64 in a SCRAM attribute") from None


def _saslname(value: str) -> str:
    """RFC 5802 §5.1: ``=2C`` is ``,`` and ``=3D`` is ``=``; any other ``=`` is an error."""
    out, rest = [], value
    while "=" in rest:
        head, _, rest = rest.partition("=")
        code, rest = rest[:2], rest[2:]
        if code not in ("2C", "3D"):
            raise SaslError("malformed-request", "bad escape in a SCRAM name")
        out.append(head + ("," if code == "2C" else "="))
    out.append(rest)
    return "".join(out)


def _nonce(value: str) -> str:
    """RFC 5802 §7: printable ASCII except ``,``, at least one character."""
    if not value or any(not 0x21 <= ord(c) <= 0x7E or c == "," for c in value):
        raise SaslError("malformed-request", "the nonce must be printable ASCII")
    return value


def _attribute(part: str, name: str) -> str:
    if part.startswith("m="):
        # RFC 5802 §5.1: the reserved "m" attribute MUST fail authentication.
        raise SaslError("malformed-request", "mandatory SCRAM extensions are not supported")
    if not part.startswith(name + "="):
        raise SaslError("malformed-request", f"expected the SCRAM attribute {name}=")
    return part[len(name) + 1 :]


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("malformed-request", "a SCRAM message is UTF-8") from None
    if "\x00" in text:
        raise SaslError("malformed-request", "NUL in a SCRAM message")
    return text


class UnsupportedBinding(SaslError):
    """A -PLUS attempt with a channel-binding type this stream cannot check."""


def parse_client_first(
    mechanism: str, data: bytes, *, bindings: Mapping[str, bytes], plus_refused: bool = False
) -> ClientFirst:
    """Check a client-first-message for ``mechanism``.

    ``bindings`` holds the channel-binding data this stream can check, by type;
    non-empty means the ``-PLUS`` mechanisms were offered, so a client that says
    it supports channel binding but thinks we do not (``y``) has seen a list
    someone stripped: RFC 5802 §6 says to fail.

    Except after ``plus_refused``: this stream already refused the client's -PLUS
    attempt for its binding type (slixmpp 1.8, poezio's, binds only ``tls-unique``,
    which TLS 1.3 does not have, then retries without binding and says ``y``). The
    client saw -PLUS and used it, so nobody stripped the list; refusing would only
    push it to PLAIN.
    """
    if mechanism not in SCRAM_MECHANISMS:
        raise SaslError("invalid-mechanism")
    hash_name, plus = SCRAM_MECHANISMS[mechanism]
    text = _text(data)
    parts = text.split(",", 2)
    if len(parts) != 3:
        raise SaslError("malformed-request", "expected gs2-header, n= and r=")
    flag, authzid_part, bare = parts
    binding = ""
    if flag.startswith("p="):
        binding = flag[2:]
        if not plus:
            raise SaslError("malformed-request", "channel binding needs a -PLUS mechanism")
        if binding not in bindings:
            raise UnsupportedBinding(
                "malformed-request", f"unsupported channel binding {binding!r}"
            )
    elif flag == "y":
        if plus:
            raise SaslError("malformed-request", "a -PLUS mechanism needs p=")
        if bindings and not plus_refused:
            raise SaslError("not-authorized", "channel binding was offered (downgrade?)")
    elif flag == "n":
        if plus:
            raise SaslError("malformed-request", "a -PLUS mechanism needs p=")
    else:
        raise SaslError("malformed-request", "bad gs2-cbind-flag")
    authzid = _saslname(_attribute(authzid_part, "a")) if authzid_part else ""
    fields = bare.split(",")
    if len(fields) < 2:
        raise SaslError("malformed-request", "expected n= and r=")
    username = _saslname(_attribute(fields[0], "n"))
    if not username:
        raise SaslError("malformed-request", "empty SCRAM username")
    nonce = _nonce(_attribute(fields[1], "r"))
    for extension in fields[2:]:  # RFC 5802 §5.1: unknown optional extensions are ignored
        if extension.startswith("m="):
            raise SaslError("malformed-request", "mandatory SCRAM extensions are not supported")
    return ClientFirst(
        mechanism=mechanism,
        hash_name=hash_name,
        gs2_header=f"{flag},{authzid_part},",
        binding=binding,
        authzid=authzid,
        username=username,
        nonce=nonce,
        bare=bare,
    )


class ScramServer:
    """One exchange after the client-first: :attr:`server_first`, then :meth:`finish`.

    ``binding_data`` is the channel-binding data of the type the client named
    (empty for ``n``/``y``); ``server_nonce`` is for tests replaying RFC examples.
    """

    def __init__(
        self,
        first: ClientFirst,
        keys: ScramKeys,
        binding_data: bytes = b"",
        *,
        server_nonce: str | None = None,
    ) -> None:
        if keys.hash_name != first.hash_name or first.hash_name not in SCRAM_HASHES:
            raise ValueError("keys of another hash")
        self.first = first
        self.keys = keys
        self._binding_data = binding_data
        ours = server_nonce or base64.b64encode(secrets.token_bytes(SERVER_NONCE_BYTES)).decode()
        self.nonce = first.nonce + ours
        salt = base64.b64encode(keys.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={keys.iterations}".encode()
        self._done = False

    def finish(self, data: bytes) -> bytes:
        """Verify the client-final-message; return the server-final-message (``v=``)."""
        if self._done:
            raise SaslError("malformed-request", "the SCRAM exchange is over")
        self._done = True
        text = _text(data)
        without_proof, sep, proof_text = text.rpartition(",p=")
        if not sep:
            raise SaslError("malformed-request", "expected c=, r= and p=")
        fields = without_proof.split(",")
        if len(fields) < 2:
            raise SaslError("malformed-request", "expected c= and r=")
        channel = _b64decode(_attribute(fields[0], "c"))
        nonce = _attribute(fields[1], "r")
        for extension in fields[2:]:
            if extension.startswith("m="):
                raise SaslError("malformed-request", "mandatory SCRAM extensions are not supported")
        proof = _b64decode(proof_text)
        name = self.keys.hash_name
        if len(proof) != len(self.keys.stored_key):
            raise SaslError("malformed-request", "the proof has the wrong length")
        expected_channel = self.first.gs2_header.encode() + self._binding_data
        if not hmac.compare_digest(channel, expected_channel):
            # RFC 5802 §6: different bindings mean a different channel (a relay).
            raise SaslError("not-authorized", "channel binding does not match")
        if not hmac.compare_digest(nonce.encode(), self.nonce.encode()):
            raise SaslError("not-authorized", "the nonce does not match")
        auth_message = b",".join(
            (self.first.bare.encode(), self.server_first, without_proof.encode())
        )
        client_signature = mac(name, self.keys.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(digest(name, client_key), self.keys.stored_key):
            raise SaslError("not-authorized")
        server_signature = mac(name, self.keys.server_key, auth_message)
        return b"v=" + base64.b64encode(server_signature)
