"""RFC 6121 §2-§3: roster items, pushes and subscription presences; pure.

A contact's core status names its subscription state (``core.subscriptions``):
``confirmed`` is ``both``, ``requested`` is ``none`` with ``ask="subscribe"``,
``to+in`` is ``to`` (the request waits for an answer, replayed as a presence), and
so on; ``removed`` (and the contact-list API's ``rejected``) is an item removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.stanza import E, serialize

NS = "jabber:iq:roster"
CLIENT = "jabber:client"
GONE = ("removed", "rejected")

#: status -> (subscription, ask)
_STATES = {
    "confirmed": ("both", False),
    "to": ("to", False),
    "to+in": ("to", False),
    "from": ("from", False),
    "from+out": ("from", True),
    "none": ("none", False),
    "requested": ("none", True),
    "pending": ("none", False),
    "in+out": ("none", True),
}


def item(jid: JID, status: str, name: str | None = None, groups: Iterable[str] = ()) -> Element:
    """An item (§2.1.2); an unknown or gone status is ``subscription="remove"``."""
    if status not in _STATES:
        return E(NS, "item", {"jid": jid.bare, "subscription": "remove"})
    subscription, ask = _STATES[status]
    return E(
        NS,
        "item",
        {
            "jid": jid.bare,
            "name": name,
            "subscription": subscription,
            "ask": "subscribe" if ask else None,
        },
        *(E(NS, "group", text=g) for g in groups),
    )


def version(items: Iterable[Element]) -> str:
    """§2.6: the roster's version, a digest of every item as it would be sent.

    Equal rosters have equal versions, so a client whose cached roster is current
    gets an empty result; any change makes another digest, so a client that missed a
    push gets the whole roster. The order of items does not count."""
    digest = hashlib.sha256()
    for text in sorted(serialize(i) for i in items):
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def roster_push(to: JID, entry: Element, push_id: str, ver: str | None = None) -> Element:
    """§2.1.6: an iq set from the user's bare JID (or none) to each interested resource;
    ``ver`` (§2.6.3) for a resource that versions its roster."""
    return E(
        CLIENT,
        "iq",
        {"type": "set", "id": push_id, "to": str(to)},
        E(NS, "query", {"ver": ver}, entry),
    )


def read_item(query: Element) -> tuple[Element | None, str]:
    """The one item of a roster set, or an error text (§2.3.3)."""
    items = query.findall(f"{{{NS}}}item")
    if len(items) != 1:
        return None, "a roster set has exactly one item"
    entry = items[0]  # §2.1.2.5: a subscription other than "remove" is ignored
    groups = [g.text or "" for g in entry.findall(f"{{{NS}}}group")]
    if any(not g for g in groups) or len(set(groups)) != len(groups):
        return None, "groups must be non-empty and distinct"
    return entry, ""
