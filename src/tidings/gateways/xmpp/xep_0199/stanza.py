"""XEP-0199 §4: a ping to the server is answered with an empty result."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import child

NS = "urn:xmpp:ping"


def is_ping(iq: Element) -> bool:
    return iq.get("type") == "get" and child(iq, NS, "ping") is not None
