"""PEP notifications for one session (XEP-0163 §4.3, XEP-0060 §7.1.2.1, §7.2.2.1, §8.4.2).

The core names who may hear a node's change (its owner, and its presence subscribers
unless the node is whitelisted); each session of those users that is interested in
the node gets a ``headline`` message from the owner's bare JID.

Interest (XEP-0163 §4.3, XEP-0060 §9.2 filtered notifications) is read from the
session's XEP-0115 capabilities: an available session whose verified features list
``<node>+notify`` wants that node, and no other; one whose caps are still being
resolved wants none yet (it gets the last items once they are known,
:mod:`..xep_0115.handler`). A session that announced no caps keeps the roster's rule
(RFC 6121 §2.1.6): an available resource that asked for its roster wants every node.
Every standard client fetches its roster at login, and the ConnectyCube SDK (no caps)
never does, so it is not sent ``headline`` stanzas it would take for system messages
(connectycube-wire §10.8).

On its initial presence a session also gets the newest item of each node it may read
and wants (§4.3.2: its own and those of the contacts whose presence it gets), stamped
with XEP-0203 delay.
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


def interested(session: Session, node: str) -> bool:
    """Whether the session wants ``node``'s notifications (see the module's docstring)."""
    if not session.available:
        return False
    if session.caps is None:
        return session.roster_requested
    features = session.features
    return features is not None and f"{node}+notify" in features


def stanzas_for(session: Session, event: PepChanged) -> list[Element]:
    if not interested(session, event.node):
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


async def last_items(session: Session, only: frozenset[str] | None = None) -> list[Element]:
    """§4.3.2: the newest item of every node the session's user may read and the
    session wants (``only``: of these nodes alone)."""
    if not session.available:
        return []
    if (session.caps is None and not session.roster_requested) or (
        session.caps is not None and not session.features
    ):
        return []  # wants nothing (or is being resolved): no query at all
    out = []
    for last in await session.core.pep.last_items(session.actor):
        if (only is not None and last.node not in only) or not interested(session, last.node):
            continue
        owner = session.addressing.user(last.owner_id, session.app_id).bare
        content = ps.event_item(last.item.item_id, parse_payload(last.item.payload))
        stamp = mapping.delay(last.item.published_ms, owner)
        out.append(ps.event_message(owner, str(session.jid), last.node, content, delayed=stamp))
    return out
