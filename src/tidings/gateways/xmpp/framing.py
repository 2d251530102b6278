"""How a stream is delimited: RFC 6120 ``<stream:stream>`` over TCP, RFC 7395 ``<open/>``
over WebSocket.

Over TCP the stream is one long XML document and stanzas are children of its
root; over WebSocket each frame is one complete element, the stream starts with
``<open/>`` and ends with ``<close/>``, and every element declares its namespace.
Both read into the same items (:mod:`xmlstream`) and write the same elements.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, serialize, split
from tidings.gateways.xmpp.xmlstream import (
    ElementReceived,
    Item,
    StreamFooter,
    StreamHeader,
    XmlStreamParser,
    parse_one,
)


class TcpFraming:
    """RFC 6120 §4: one XML document per stream direction, restarted after TLS and SASL."""

    one_element_per_frame = False

    def __init__(self, max_stanza_bytes: int) -> None:
        self.max_stanza_bytes = max_stanza_bytes
        self.reset()

    def reset(self) -> None:
        self._parser = XmlStreamParser(stream_root=True, max_stanza_bytes=self.max_stanza_bytes)

    def feed(self, data: bytes) -> list[Item]:
        return self._parser.feed(data)

    def open(self, stream_id: str, domain: str, to: str) -> bytes:
        header = (
            "<?xml version='1.0'?>"
            f"<stream:stream xmlns='{ns.CLIENT}' xmlns:stream='{ns.STREAMS}'"
            f" id='{stream_id}' from='{domain}' version='1.0' xml:lang='en'"
        )
        if to:
            header += f" to='{_attr(to)}'"
        return (header + ">").encode()

    def close(self) -> bytes:
        return b"</stream:stream>"

    def write(self, element: Element) -> bytes:
        return serialize(element, ns.CLIENT, stream_prefix_declared=True).encode()


class WebSocketFraming:
    """RFC 7395 §3: each message is one element; ``<open/>``/``<close/>`` bound the stream."""

    one_element_per_frame = True

    def __init__(self, max_stanza_bytes: int) -> None:
        self.max_stanza_bytes = max_stanza_bytes

    def reset(self) -> None:
        """Nothing carries over between frames."""

    def feed(self, data: bytes) -> list[Item]:
        element = parse_one(data, max_stanza_bytes=self.max_stanza_bytes)
        namespace, local = split(element.tag)
        if namespace == ns.FRAMING and local == "open":
            return [StreamHeader(element.tag, dict(element.attrib))]
        if namespace == ns.FRAMING and local == "close":
            return [StreamFooter()]
        return [ElementReceived(element)]

    def open(self, stream_id: str, domain: str, to: str) -> bytes:
        attrs = {"from": domain, "id": stream_id, "version": "1.0", "xml:lang": "en"}
        element = E(ns.FRAMING, "open", {k: v for k, v in attrs.items() if k != "xml:lang"})
        element.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        return serialize(element).encode()

    def close(self) -> bytes:
        return serialize(E(ns.FRAMING, "close")).encode()

    def write(self, element: Element) -> bytes:
        return serialize(element).encode()


Framing = TcpFraming | WebSocketFraming


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
