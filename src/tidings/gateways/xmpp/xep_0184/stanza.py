"""XEP-0184 §4: ``<request/>`` asks for a receipt, ``<received id/>`` gives one."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:receipts"


def requests_receipt(message: Element) -> bool:
    return child(message, NS, "request") is not None


def receipt_for(message: Element) -> str | None:
    found = child(message, NS, "received")
    return None if found is None else found.get("id") or None


def receipt(message_id: str) -> Element:
    return E(NS, "received", {"id": message_id})
