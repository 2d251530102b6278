"""XEP-0359 §3: ``<stanza-id by=... id=...>``, assigned by the archive; here the message id."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:sid:0"


def stanza_id(message_id: str, by: str) -> Element:
    return E(NS, "stanza-id", {"id": message_id, "by": by})


def origin_id(message: Element) -> str | None:
    found = child(message, NS, "origin-id")
    return None if found is None else found.get("id") or None
