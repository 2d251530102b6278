"""XEP-0333 §3: ``received`` = delivered, ``displayed`` = read (connectycube-wire §10.5)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:chat-markers:0"


def marker_of(message: Element) -> tuple[str, str] | None:
    """("delivered" | "read", message id), or None."""
    for local, meaning in (
        ("displayed", "read"),
        ("acknowledged", "read"),
        ("received", "delivered"),
    ):
        found = child(message, NS, local)
        if found is not None and found.get("id"):
            return meaning, found.get("id", "")
    return None


def marker(meaning: str, message_id: str) -> Element:
    return E(NS, "displayed" if meaning == "read" else "received", {"id": message_id})


def markable() -> Element:
    return E(NS, "markable")
