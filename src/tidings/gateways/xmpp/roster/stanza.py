"""RFC 6121 §2-§3: roster items and subscription presences for contact statuses; pure.

Core statuses map onto RFC 6121 subscription states: ``confirmed`` is ``both``,
``requested`` (we asked) is ``none`` with ``ask="subscribe"``, ``pending`` (they
asked) is an inbound ``subscribe`` presence, ``none``/``rejected`` remove the item.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.stanza import E

NS = "jabber:iq:roster"
CLIENT = "jabber:client"


def item(jid: JID, status: str) -> Element | None:
    if status == "confirmed":
        return E(NS, "item", {"jid": jid.bare, "subscription": "both"})
    if status == "requested":
        return E(NS, "item", {"jid": jid.bare, "subscription": "none", "ask": "subscribe"})
    if status == "pending":
        return E(NS, "item", {"jid": jid.bare, "subscription": "none"})
    return None


def roster_push(to: JID, entry: Element) -> Element:
    return E(
        CLIENT,
        "iq",
        {"type": "set", "id": f"push-{entry.get('jid')}", "to": str(to)},
        E(NS, "query", {}, entry),
    )


def contact_changed(me: JID, other: JID, status: str) -> list[Element]:
    entry = item(other, status)
    if entry is None:
        entry = E(NS, "item", {"jid": other.bare, "subscription": "remove"})
    out = [roster_push(me, entry)]
    kind = {
        "pending": "subscribe",
        "confirmed": "subscribed",
        "none": "unsubscribed",
        "rejected": "unsubscribed",  # RFC 6121 §3.2: the requester learns of a refusal
    }.get(status)
    if kind:
        out.append(E(CLIENT, "presence", {"type": kind, "from": other.bare, "to": me.bare}))
    return out
