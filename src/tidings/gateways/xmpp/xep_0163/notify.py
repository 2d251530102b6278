"""PEP notifications for one session (XEP-0163 §4.3, XEP-0060 §7.1.2.1, §7.2.2.1, §8.4.2).

The core names who may hear a node's change (its owner, and its presence subscribers
unless the node is whitelisted); each session of those users that is interested gets
a ``headline`` message from the owner's bare JID. XEP-0115 ``+notify`` features are
not tracked, so "interested" is the roster's rule (RFC 6121 §2.1.6): an available
resource that asked for its roster. Notifications follow the roster (XEP-0163 §4.3.1),
every standard client fetches it at login, and the ConnectyCube SDK never does, so it
is not sent ``headline`` stanzas it would take for system messages
(connectycube-wire §10.8).

On its initial presence a session also gets the newest item of each node it may read
(§4.3.2: its own and those of the contacts whose presence it gets), stamped with
XEP-0203 delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.events import PepChanged
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0163 import stanza as ps
from tidings.gateways.xmpp.xep_0163.payloads import parse_payload

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


def interested(session: Session) -> bool:
    return session.available and session.roster_requested


def stanzas_for(session: Session, event: PepChanged) -> list[Element]:
    if not interested(session):
        return []
    owner = session.addressing.user(event.owner_id, session.app_id).bare
    if event.change == "published" and event.item_id is not None:
        payload = parse_payload(event.payload) if event.payload is not None else None
        content = ps.event_item(event.item_id, payload)
    elif event.change == "retracted" and event.item_id is not None:
        content = E(ps.EVENT, "retract", {"id": event.item_id})
    elif event.change == "deleted":
        content = E(ps.EVENT, "delete", {"node": event.node})
    else:
        return []
    return [ps.event_message(owner, str(session.jid), event.node, content)]


async def last_items(session: Session) -> list[Element]:
    """§4.3.2: the newest item of every node the session's user may read."""
    if not interested(session):
        return []
    out = []
    for last in await session.core.pep.last_items(session.actor):
        owner = session.addressing.user(last.owner_id, session.app_id).bare
        content = ps.event_item(last.item.item_id, parse_payload(last.item.payload))
        stamp = mapping.delay(last.item.published_ms, owner)
        out.append(ps.event_message(owner, str(session.jid), last.node, content, delayed=stamp))
    return out
