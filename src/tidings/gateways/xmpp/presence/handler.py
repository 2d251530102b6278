"""RFC 6121 §4 for one session: what its presences do, and which it is sent.

A broadcast presence (no ``to``) is stored with the session's connection row, so
probes on any node can read it, and goes on the bus to the user's resources and
subscribed contacts (§4.2.2, §4.4.2). The first one is the initial presence: the
session then gets its contacts' available resources (§4.2.3, answered from the
store rather than by a probe round trip) and the subscription requests still
waiting for an answer (§3.1.3). A presence to a user JID is directed (§4.6): sent
to that user (or that one resource) and remembered, so the session's end or
unavailable presence reaches it too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.presence import stanza
from tidings.gateways.xmpp.roster import handler as roster
from tidings.gateways.xmpp.xep_0115.stanza import read_caps
from tidings.gateways.xmpp.xep_0153 import handler as xep_0153
from tidings.gateways.xmpp.xep_0163 import notify as pep_notify

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

SUBSCRIPTION_TYPES = ("subscribe", "subscribed", "unsubscribe", "unsubscribed")


async def handle(session: Session, element: Element) -> None:
    """A presence from the client that is not for a room."""
    kind = element.get("type")
    to_text = element.get("to")
    if not to_text:
        if kind in (None, "available"):
            await _available(session, stanza.read(element), element)
        elif kind == "unavailable":
            await _unavailable(session)
        return  # probe, error, subscription types without a 'to': nothing to do
    if kind in SUBSCRIPTION_TYPES:
        await roster.handle_presence(session, element)
    elif kind in (None, "available", "unavailable"):
        await _directed(session, to_text, None if kind == "unavailable" else stanza.read(element))


async def _available(session: Session, data: dict[str, Any], element: Element) -> None:
    initial = not session.available
    # XEP-0115 §6.2: before the last items, which follow the caps' +notify (XEP-0163 §4.3.2)
    session.gateway.caps.announced(session, read_caps(element), initial=initial)
    await xep_0153.stamp(session, data)
    session.became_available()
    resource = session.jid.resource
    if session.connection_id is not None:
        await session.core.presence.set_resource(
            session.actor, session.connection_id, resource, data
        )
    if not initial:
        return
    for event in await session.core.presence.probe(session.actor):
        for element in stanzas_for(session, event):
            session.send(element)
    for element in await pep_notify.last_items(session):  # XEP-0163 §4.3.2
        session.send(element)
    me = session.jid
    for user_id in await session.core.contacts.pending_requests(session.actor):
        other = session.addressing.user(user_id, session.app_id)
        session.send(stanza.write(other.bare, str(me), available=True, type_="subscribe"))


async def _unavailable(session: Session) -> None:
    session.became_unavailable()
    await ended(session)


async def ended(session: Session) -> None:
    """§4.5/§4.6.3: unavailable to the contacts and to every JID given directed presence."""
    targets, session.directed = session.directed, set()
    for user_id, resource in targets:
        await session.core.presence.directed(
            session.actor, session.jid.resource, user_id, resource, None
        )
    if session.connection_id is not None:
        await session.core.presence.set_resource(
            session.actor, session.connection_id, session.jid.resource, None
        )


async def _directed(session: Session, to_text: str, data: dict[str, Any] | None) -> None:
    try:
        to = JID.parse(to_text)
        user_id, app_id = parse_user_local(to.local)
    except JidError:
        return
    if app_id != session.app_id or not session.addressing.is_local(to):
        return  # no federation: nowhere to route it
    target = (user_id, to.resource or None)
    await session.core.presence.directed(
        session.actor, session.jid.resource, user_id, to.resource or None, data
    )
    if data is None:
        session.directed.discard(target)
    else:
        session.directed.add(target)


def stanzas_for(session: Session, event: ev.ResourcePresenceChanged) -> list[Element]:
    """A resource's presence for this session: broadcasts go to available resources
    only (§4.2.2); a directed one to the resource it names (§4.6.2)."""
    if event.to_resource is not None:
        if event.to_resource != session.jid.resource:
            return []
    elif not session.available:
        return []
    sender = session.addressing.user(event.user_id, session.app_id, event.resource)
    return [
        stanza.write(
            str(sender),
            str(session.jid),
            available=event.available,
            show=event.show,
            status=event.status,
            priority=event.priority,
            photo=event.avatar_hash,
        )
    ]
