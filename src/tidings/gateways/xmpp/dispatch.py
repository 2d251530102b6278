"""Routes each stanza of a bound session to the handler for its kind and namespace."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError
from tidings.gateways.xmpp import chat, mapping
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.jid import JID, JidError
from tidings.gateways.xmpp.muc import handler as muc
from tidings.gateways.xmpp.roster import handler as roster
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result, split
from tidings.gateways.xmpp.xep_0012 import handler as last_activity
from tidings.gateways.xmpp.xep_0016 import handler as privacy
from tidings.gateways.xmpp.xep_0199.stanza import is_ping
from tidings.gateways.xmpp.xep_0280.stanza import is_enable as carbons_enable
from tidings.gateways.xmpp.xep_0313 import handler as mam

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")

#: Advertised in disco#info of the server (XEP-0030).
FEATURES = (
    "urn:xmpp:ping",
    "urn:xmpp:carbons:2",
    "urn:xmpp:mam:2",
    "urn:xmpp:sid:0",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
    "http://jabber.org/protocol/chatstates",
    "jabber:iq:privacy",
    "jabber:iq:last",
    "jabber:iq:roster",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
)


async def stanza(session: Session, element: Element) -> None:
    kind = split(element.tag)[1]
    if kind == "message":
        await chat.handle(session, element)
    elif kind == "presence":
        await presence(session, element)
    elif kind == "iq":
        reply = await iq(session, element)
        if reply is not None:
            session.send(reply)


async def presence(session: Session, element: Element) -> None:
    to_text = element.get("to")
    kind = element.get("type")
    if not to_text:
        if kind in (None, "available"):
            session.became_available()  # RFC 6121 §4.2: the first one starts offline delivery
        elif kind == "unavailable":
            session.became_unavailable()
        return
    try:
        to = JID.parse(to_text)
    except JidError:
        return
    try:
        if session.addressing.is_muc(to):
            await muc.handle_presence(session, element, to)
        elif kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            await roster.handle_presence(session, element)
    except DomainError as exc:
        log.debug("presence refused: %s", exc)


async def iq(session: Session, element: Element) -> Element | None:
    kind = element.get("type")
    if kind in ("result", "error"):
        session.answered(element.get("id") or "")  # a ping of ours confirms messages
        return None
    if len(element) != 1:
        return error_reply(element, "bad-request", "an iq has exactly one payload")
    payload = element[0]
    namespace, local = split(payload.tag)
    to_text = element.get("to") or ""
    try:
        to = JID.parse(to_text) if to_text else None
    except JidError:
        return error_reply(element, "bad-request", "bad 'to'")
    try:
        if is_ping(element):
            return iq_result(element)
        if namespace == "urn:xmpp:carbons:2":
            enabled = carbons_enable(element)
            if enabled is not None:
                session.carbons = enabled
            return iq_result(element)
        if namespace == "jabber:iq:roster":
            return await roster.handle_iq(session, element)
        if namespace == "jabber:iq:privacy":
            return await privacy.handle(session, element)
        if namespace == "jabber:iq:last":
            return await last_activity.handle(session, element)
        if namespace == "urn:xmpp:mam:2":
            return await mam.handle(session, element)
        if namespace in (ns.MOBILE, ns.STATUS_STREAMING):
            return iq_result(element)
        if namespace == ns.DISCO_ITEMS and to is not None and session.addressing.is_muc(to):
            return await muc.disco_items(session, element, to)
        if namespace == ns.DISCO_ITEMS and kind == "get":
            return iq_result(
                element,
                E(
                    ns.DISCO_ITEMS,
                    "query",
                    {},
                    E(ns.DISCO_ITEMS, "item", {"jid": session.addressing.muc_domain}),
                ),
            )
        if namespace == ns.DISCO_INFO and kind == "get":
            identity = E(
                ns.DISCO_INFO, "identity", {"category": "server", "type": "im", "name": "tidings"}
            )
            if to is not None and to.domain == session.addressing.muc_domain:
                identity = E(ns.DISCO_INFO, "identity", {"category": "conference", "type": "text"})
            features = [E(ns.DISCO_INFO, "feature", {"var": f}) for f in FEATURES]
            return iq_result(element, E(ns.DISCO_INFO, "query", {}, identity, *features))
    except DomainError as exc:
        reply = error_reply(element, "bad-request")
        reply.remove(reply[-1])
        reply.append(mapping.error_for(exc.code, exc.status, exc.message))
        return reply
    del local
    return error_reply(element, "service-unavailable")
