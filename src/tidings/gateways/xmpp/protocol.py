"""XmppStream: one client-to-server stream, sans-I/O (RFC 6120 §4-§7, RFC 7395).

In: :meth:`receive_data` (bytes read from the peer; for WebSocket, one frame),
:meth:`receive_eof`, and the answers the gateway decides on
(:meth:`auth_succeeded`, :meth:`bind_succeeded`, :meth:`send`...). Out:
:meth:`events_received` and :meth:`data_to_send`. No sockets, no asyncio, no
clock: the transport and :mod:`connection` own those.

Errors by the peer (bad XML, a DTD, an oversize stanza, a stanza before
authentication) are answered with the RFC 6120 §4.9 stream error and close the
stream; the caller sees :class:`~events.StreamClosed` with the condition.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.events import (
    AuthRequested,
    BindRequested,
    Event,
    NonzaReceived,
    ResumeRequested,
    SaslResponse,
    StanzaReceived,
    StartTlsRequested,
    StreamClosed,
    StreamOpened,
)
from tidings.gateways.xmpp.framing import Framing, TcpFraming, WebSocketFraming
from tidings.gateways.xmpp.sasl import MECHANISMS, SaslError, parse_plain
from tidings.gateways.xmpp.scram import (
    SASL_CB,
    SCRAM_MECHANISMS,
    UnsupportedBinding,
    parse_client_first,
)
from tidings.gateways.xmpp.stanza import E, child, split
from tidings.gateways.xmpp.state import ACCEPTS, StreamState, Trigger, next_state
from tidings.gateways.xmpp.xep_0352.hold import NS as CSI
from tidings.gateways.xmpp.xmlstream import (
    MAX_STANZA_BYTES,
    ElementReceived,
    StreamFooter,
    StreamHeader,
    XmlStreamError,
)

SM = "urn:xmpp:sm:3"
ROSTER_VERSIONING = "urn:xmpp:features:rosterver"
STANZA_KINDS = frozenset({"message", "presence", "iq"})


class XmppStream:
    """Server side of one stream; ``websocket`` picks RFC 7395 framing."""

    def __init__(
        self,
        domain: str,
        *,
        websocket: bool = False,
        tls_available: bool = False,
        max_stanza_bytes: int = MAX_STANZA_BYTES,
        stream_management: bool = True,
        caps: Element | None = None,
    ) -> None:
        self.domain = domain
        #: XEP-0115 §6.3: the server's ``<c/>``, offered with the features after SASL.
        self.caps = caps
        self.framing: Framing = (
            WebSocketFraming(max_stanza_bytes) if websocket else TcpFraming(max_stanza_bytes)
        )
        self.tls_available = tls_available and not websocket
        self.tls_active = False
        #: Channel-binding data by type, once TLS is up (SCRAM-*-PLUS, XEP-0440).
        self.channel_bindings: dict[str, bytes] = {}
        #: The SASL exchange in progress: "" none, "first:<mechanism>" (an empty
        #: challenge was sent for the client-first), "gateway" (the gateway is
        #: deciding), "final" (our challenge was sent; the client's response is due).
        self._sasl = ""
        #: A -PLUS attempt on this stream was refused for its binding type.
        self._plus_refused = False
        self.stream_management = stream_management
        self.state = StreamState.OPENING
        self.authenticated = False
        self.stream_id = ""
        self._events: list[Event] = []
        self._out: list[bytes] = []

    # -- outputs -------------------------------------------------------------------

    def events_received(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[bytes]:
        """Pending output; over WebSocket each item is one frame."""
        out, self._out = self._out, []
        return out

    @property
    def closed(self) -> bool:
        return self.state is StreamState.CLOSED

    # -- inputs from the peer ------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            items = self.framing.feed(data)
        except XmlStreamError as exc:
            self.send_stream_error(exc.condition, exc.text)
            return
        for item in items:
            if self.closed:
                return
            if isinstance(item, StreamHeader):
                self._opened(item)
            elif isinstance(item, StreamFooter):
                self._peer_closed()
            elif isinstance(item, ElementReceived):
                self._element(item.element)

    def receive_eof(self) -> None:
        if not self.closed:
            self.state = next_state(self.state, Trigger.CLOSE)
            self._events.append(StreamClosed("connection-lost"))

    # -- stream open/close -----------------------------------------------------------

    def _opened(self, header: StreamHeader) -> None:
        expected = ns.FRAMING if isinstance(self.framing, WebSocketFraming) else ns.STREAMS
        namespace, local = split(header.tag)
        if self.state is not StreamState.OPENING:
            self.send_stream_error("conflict", "the stream is already open")
            return
        self.stream_id = secrets.token_hex(8)
        self._out.append(
            self.framing.open(self.stream_id, self.domain, header.attrs.get("from", ""))
        )
        if (namespace, local) != (expected, "stream" if expected == ns.STREAMS else "open"):
            self.send_stream_error("invalid-namespace", "expected a stream header")
            return
        if header.attrs.get("version", "1.0") != "1.0":
            self.send_stream_error("unsupported-version", "only XMPP 1.0")
            return
        to = header.attrs.get("to", "")
        trigger = Trigger.OPENED_AUTHENTICATED if self.authenticated else Trigger.OPENED
        self.state = next_state(self.state, trigger)
        self._events.append(StreamOpened(to=to, from_=header.attrs.get("from", "")))
        self._write(self._features())

    def _features(self) -> Element:
        features = E(ns.STREAMS, "features")
        if not self.authenticated:
            if self.tls_available and not self.tls_active:
                # RFC 6120 §5.3.1: TLS is mandatory-to-negotiate where we offer it, so no
                # mechanism is advertised before it (PLAIN must never cross in clear).
                features.append(E(ns.TLS, "starttls", {}, E(ns.TLS, "required")))
                return features
            features.append(
                E(
                    ns.SASL,
                    "mechanisms",
                    {},
                    *(E(ns.SASL, "mechanism", text=m) for m in self.mechanisms()),
                )
            )
            if self.channel_bindings:  # XEP-0440 §2
                types = (E(SASL_CB, "channel-binding", {"type": t}) for t in self.channel_bindings)
                features.append(E(SASL_CB, "sasl-channel-binding", {}, *types))
        else:
            features.append(E(ns.BIND, "bind"))
            features.append(E(ns.SESSION, "session", {}, E(ns.SESSION, "optional")))
            if self.stream_management:
                features.append(E(SM, "sm"))
            features.append(E(CSI, "csi"))  # XEP-0352 §4.1
            features.append(E(ROSTER_VERSIONING, "ver"))  # RFC 6121 §2.6.1
            if self.caps is not None:
                features.append(self.caps)
        return features

    def mechanisms(self) -> tuple[str, ...]:
        """RFC 6120 §6.3.3, in our order of preference. SCRAM only once TLS is up (so
        never over WebSocket, whose ConnectyCube clients log in with session tokens,
        which only PLAIN carries); the -PLUS forms only with channel-binding data."""
        if not self.tls_active:
            return ("PLAIN",)
        return tuple(
            m
            for m in MECHANISMS
            if m not in SCRAM_MECHANISMS or self.channel_bindings or not SCRAM_MECHANISMS[m][1]
        )

    def _peer_closed(self) -> None:
        if not self.closed:
            self._out.append(self.framing.close())
            self.state = next_state(self.state, Trigger.CLOSE)
            self._events.append(StreamClosed())

    def close(self) -> None:
        """Close the stream ourselves (server shutdown)."""
        if not self.closed:
            self._out.append(self.framing.close())
            self.state = next_state(self.state, Trigger.CLOSE)
            self._events.append(StreamClosed("system-shutdown"))

    def send_stream_error(self, condition: str, text: str = "") -> None:
        """RFC 6120 §4.9: the error, then the closing tag; the stream is over."""
        if self.closed:
            return
        if not self.stream_id:
            self.stream_id = secrets.token_hex(8)
            self._out.append(self.framing.open(self.stream_id, self.domain, ""))
        error = E(
            ns.STREAMS,
            "error",
            {},
            E(ns.STREAM_ERRORS, condition),
            E(ns.STREAM_ERRORS, "text", text=text) if text else None,
        )
        self._write(error)
        self._out.append(self.framing.close())
        self.state = next_state(self.state, Trigger.CLOSE)
        self._events.append(StreamClosed(condition))

    # -- elements ------------------------------------------------------------------

    def _element(self, element: Element) -> None:
        namespace, local = split(element.tag)
        kind = self._kind(namespace, local, element)
        if kind not in ACCEPTS[self.state]:
            if kind == "stanza" and not self.authenticated:
                self.send_stream_error("not-authorized", "authenticate first")
            elif kind == "stanza":
                self.send_stream_error("not-authorized", "bind a resource first")
            else:
                self.send_stream_error("unsupported-stanza-type", f"unexpected <{local}/>")
            return
        if kind == "starttls":
            self._starttls()
        elif kind == "auth":
            self._auth(element)
        elif kind == "response":
            self._response(element)
        elif kind == "abort":
            self.auth_failed("aborted")  # RFC 6120 §6.4.4
        elif kind == "bind":
            bind = child(element, ns.BIND, "bind")
            resource = (bind.findtext(f"{{{ns.BIND}}}resource") or "") if bind is not None else ""
            self._events.append(BindRequested(element.get("id", ""), resource.strip()))
        elif kind == "session":
            self._write(E(ns.CLIENT, "iq", {"type": "result", "id": element.get("id")}))
        elif kind == "resume":
            try:
                h = int(element.get("h", ""))
            except ValueError:
                self._write(E(SM, "failed", {}, E(ns.STANZAS, "bad-request")))
                return
            self._events.append(ResumeRequested(element.get("previd", ""), h))
        elif kind in ("sm", "csi"):
            self._events.append(NonzaReceived(element))
        else:
            self._events.append(StanzaReceived(element))

    def _kind(self, namespace: str, local: str, element: Element) -> str:
        if namespace == ns.CLIENT and local in STANZA_KINDS:
            if local == "iq" and element.get("type") == "set":
                if child(element, ns.BIND, "bind") is not None:
                    return "bind" if self.state is StreamState.BINDING else "stanza"
                if child(element, ns.SESSION, "session") is not None:
                    return "session"
            return "stanza"
        if namespace == ns.TLS and local == "starttls":
            return "starttls"
        if namespace == ns.SASL and local in ("auth", "response", "abort"):
            return local
        if namespace == SM:
            return "resume" if local == "resume" else "sm"
        if namespace == CSI:
            return "csi"
        return f"unknown:{local}"

    def _starttls(self) -> None:
        if not self.tls_available or self.tls_active:
            self._write(E(ns.TLS, "failure"))
            self.send_stream_error("policy-violation", "TLS is not available here")
            return
        self._write(E(ns.TLS, "proceed"))
        self._events.append(StartTlsRequested())

    def _auth(self, element: Element) -> None:
        if self.tls_available and not self.tls_active:
            self._write(E(ns.SASL, "failure", {}, E(ns.SASL, "encryption-required")))
            return
        mechanism = element.get("mechanism", "")
        self._sasl = ""
        if mechanism not in self.mechanisms():
            self.auth_failed("invalid-mechanism")
            return
        if mechanism != "PLAIN":
            text = (element.text or "").strip()
            if not text:  # RFC 6120 §6.4.2: no initial response, so an empty challenge
                self._sasl = f"first:{mechanism}"
                self._write(E(ns.SASL, "challenge"))
                return
            self._scram_first(mechanism, text)
            return
        try:
            credentials = parse_plain(element.text or "")
        except SaslError as exc:
            self.auth_failed(exc.condition, exc.text)
            return
        self._events.append(AuthRequested(mechanism, credentials))

    def _scram_first(self, mechanism: str, text: str) -> None:
        try:
            first = parse_client_first(
                mechanism,
                _sasl_data(text),
                bindings=self.channel_bindings,
                plus_refused=self._plus_refused,
            )
        except UnsupportedBinding as exc:
            self._plus_refused = True  # see parse_client_first
            self.auth_failed(exc.condition, exc.text)
            return
        except SaslError as exc:
            self.auth_failed(exc.condition, exc.text)
            return
        self._sasl = "gateway"
        self._events.append(AuthRequested(mechanism, first))

    def _response(self, element: Element) -> None:
        """RFC 6120 §6.4.3: the client's answer to our last challenge."""
        step, self._sasl = self._sasl, ""
        text = (element.text or "").strip()
        if step.startswith("first:"):
            self._scram_first(step.removeprefix("first:"), text)
        elif step == "final":
            try:
                data = _sasl_data(text)
            except SaslError as exc:
                self.auth_failed(exc.condition, exc.text)
                return
            self._sasl = "gateway"
            self._events.append(SaslResponse(data))
        else:  # no challenge of ours is open
            self.auth_failed("malformed-request" if step else "aborted")

    # -- answers from the gateway ------------------------------------------------------

    def tls_established(self, channel_bindings: dict[str, bytes] | None = None) -> None:
        """The transport finished the TLS handshake: the client opens a new stream.

        ``channel_bindings``: what SCRAM-*-PLUS may bind to on it, by type."""
        self.tls_active = True
        self.channel_bindings = dict(channel_bindings or {})
        self.framing.reset()
        self.state = next_state(self.state, Trigger.TLS_DONE)

    def sasl_challenge(self, data: bytes) -> None:
        """RFC 6120 §6.4.3: a challenge (SCRAM's server-first-message); a response is due."""
        self._sasl = "final"
        self._write(E(ns.SASL, "challenge", text=base64.b64encode(data).decode()))

    def auth_succeeded(self, additional_data: bytes = b"") -> None:
        """RFC 6120 §6.4.6: ``additional_data`` is SCRAM's server-final-message."""
        self._sasl = ""
        self.authenticated = True
        text = base64.b64encode(additional_data).decode() if additional_data else None
        self._write(E(ns.SASL, "success", text=text))
        self.framing.reset()
        self.state = next_state(self.state, Trigger.AUTH_OK)

    def auth_failed(self, condition: str = "not-authorized", text: str = "") -> None:
        self._sasl = ""
        self._write(
            E(
                ns.SASL,
                "failure",
                {},
                E(ns.SASL, condition),
                E(ns.SASL, "text", text=text) if text else None,
            )
        )

    def bind_succeeded(self, iq_id: str, full_jid: str) -> None:
        self._write(
            E(
                ns.CLIENT,
                "iq",
                {"type": "result", "id": iq_id, "to": full_jid},
                E(ns.BIND, "bind", {}, E(ns.BIND, "jid", text=full_jid)),
            )
        )
        self.state = next_state(self.state, Trigger.BOUND)

    def resume_succeeded(self, previd: str, h: int) -> None:
        self._write(E(SM, "resumed", {"previd": previd, "h": str(h)}))
        self.state = next_state(self.state, Trigger.RESUMED)

    def send(self, element: Element) -> None:
        """Queue a stanza or nonza for the peer."""
        if not self.closed:
            self._write(element)

    def _write(self, element: Element) -> None:
        self._out.append(self.framing.write(element))


def _sasl_data(text: str) -> bytes:
    """RFC 6120 §6.4.2: base64, where ``=`` is an empty response."""
    if text == "=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("incorrect-encoding", "not base64") from None


__all__ = ["SM", "XmppStream"]
