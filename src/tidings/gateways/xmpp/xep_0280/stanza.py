"""XEP-0280 §6: a copy of what one resource sent, for the user's other resources.

Only ``<sent>`` is produced: the SDK mistakes a ``<received>`` carbon for a chat
marker and loses the message, so incoming messages go to every resource directly.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child

NS = "urn:xmpp:carbons:2"
FORWARD = "urn:xmpp:forward:0"


def is_enable(iq: Element) -> bool | None:
    if child(iq, NS, "enable") is not None:
        return True
    if child(iq, NS, "disable") is not None:
        return False
    return None


def is_private(message: Element) -> bool:
    return child(message, NS, "private") is not None


def sent_carbon(bare_jid: str, to_full_jid: str, original: Element) -> Element:
    return E(
        "jabber:client",
        "message",
        {"from": bare_jid, "to": to_full_jid, "type": original.get("type", "chat")},
        E(NS, "sent", {}, E(FORWARD, "forwarded", {}, original)),
    )
