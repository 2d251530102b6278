"""XEP-0199 §4: a ping to the server is answered with an empty result; §4.2: the
server pings a client the same way."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:ping"


def is_ping(iq: Element) -> bool:
    return iq.get("type") == "get" and child(iq, NS, "ping") is not None


def ping(iq_id: str, from_: str, to: str) -> Element:
    """A server-to-client ping (§4.2); any answer, result or error, means it was read."""
    return E(ns.CLIENT, "iq", {"type": "get", "id": iq_id, "from": from_, "to": to}, E(NS, "ping"))
