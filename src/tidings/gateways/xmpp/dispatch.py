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
from tidings.gateways.xmpp.muc import iq as muc_iq
from tidings.gateways.xmpp.presence import handler as presence_handler
from tidings.gateways.xmpp.roster import handler as roster
from tidings.gateways.xmpp.stanza import error_reply, iq_result, split
from tidings.gateways.xmpp.xep_0012 import handler as last_activity
from tidings.gateways.xmpp.xep_0016 import handler as privacy
from tidings.gateways.xmpp.xep_0030 import handler as disco
from tidings.gateways.xmpp.xep_0199.stanza import NS as PING_NS
from tidings.gateways.xmpp.xep_0199.stanza import is_ping
from tidings.gateways.xmpp.xep_0280.stanza import is_enable as carbons_enable
from tidings.gateways.xmpp.xep_0313 import handler as mam

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

log = logging.getLogger("tidings.gateways.xmpp")


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
    try:
        to = JID.parse(to_text) if to_text else None
    except JidError:
        return
    try:
        if to is not None and session.addressing.is_muc(to):
            await muc.handle_presence(session, element, to)
        else:  # RFC 6121 §3-§4: broadcast, directed and subscription presences
            await presence_handler.handle(session, element)
    except DomainError as exc:
        log.debug("presence refused: %s", exc)


async def iq(session: Session, element: Element) -> Element | None:
    """An iq from the client: routed to a full JID, else answered by the server.

    Whatever the payload, the answer is a result or a stanza error, never a closed
    stream (RFC 6120 §8.4: unknown payloads get ``service-unavailable``).
    """
    kind = element.get("type")
    to_text = element.get("to") or ""
    try:
        to = JID.parse(to_text) if to_text else None
    except JidError:
        return (
            None if kind in ("result", "error") else error_reply(element, "bad-request", "bad 'to'")
        )
    if kind not in ("get", "set", "result", "error"):
        return error_reply(element, "bad-request", "an iq's type is get, set, result or error")
    router = session.gateway.iq_router
    user_id = router.target(session, to) if to is not None else None
    if to is not None and to.resource and user_id is not None:
        return router.route(session, element, to, user_id)  # RFC 6120 §10.5.4: the resource's
    if kind in ("result", "error"):
        session.answered(element.get("id") or "")  # a ping of ours confirms messages
        return None
    if len(element) != 1:
        return error_reply(element, "bad-request", "an iq has exactly one payload")
    try:
        if to is not None and to.local and session.addressing.is_local(to):
            if user_id is None:
                return error_reply(element, "service-unavailable")  # §10.5.3.2: no such account
            if user_id != session.user_id:
                return await on_behalf(session, element, user_id)
        return await served(session, element, to)
    except DomainError as exc:
        reply = error_reply(element, "bad-request")
        reply.remove(reply[-1])
        reply.append(mapping.error_for(exc.code, exc.status, exc.message))
        return reply
    except Exception:
        log.exception("xmpp: iq handler failed")
        return error_reply(element, "internal-server-error")


async def on_behalf(session: Session, element: Element, user_id: int) -> Element:
    """An iq to another user's bare JID, answered by the server for the account (§10.5.4)."""
    namespace, local = split(element[0].tag)
    get = element.get("type") == "get"
    if namespace == last_activity.NS:
        return await last_activity.handle(session, element)
    if get and namespace in (ns.DISCO_INFO, ns.DISCO_ITEMS, PING_NS):
        await session.core.users.get_user(session.actor, user_id)  # NotFound: no such account
        if namespace == ns.DISCO_INFO:
            return disco.account_info(element)
        if namespace == ns.DISCO_ITEMS:
            return disco.items(element)
        return iq_result(element)  # XEP-0199 §4.3 answered by the server for the account
    del local
    return error_reply(element, "service-unavailable")


async def served(session: Session, element: Element, to: JID | None) -> Element:
    """An iq to the server, the MUC service or the user's own bare JID."""
    kind = element.get("type")
    namespace = split(element[0].tag)[0]
    if to is not None and to.local and session.addressing.is_muc(to) and namespace != mam.NS:
        return await muc_iq.handle(session, element, to)  # XEP-0045 rooms, XEP-0410
    if is_ping(element):
        return iq_result(element)
    if namespace == "urn:xmpp:carbons:2" and kind == "set":
        enabled = carbons_enable(element)
        if enabled is not None:
            session.carbons = enabled
        return iq_result(element)
    if namespace == "jabber:iq:roster":
        return await roster.handle_iq(session, element)
    if namespace == "jabber:iq:privacy":
        return await privacy.handle(session, element)
    if namespace == last_activity.NS:
        return await last_activity.handle(session, element)
    if namespace == mam.NS:
        return await mam.handle(session, element)
    if namespace in (ns.MOBILE, ns.STATUS_STREAMING):
        return iq_result(element)
    if namespace == ns.DISCO_ITEMS and to is not None and session.addressing.is_muc(to):
        return await muc.disco_items(session, element, to)
    if namespace == ns.DISCO_ITEMS and kind == "get":
        if to is not None and to.local:
            return disco.items(element)  # the user's own account
        return disco.items(element, session.addressing.muc_domain)
    if namespace == ns.DISCO_INFO and kind == "get":
        if to is not None and session.addressing.is_muc(to):
            return disco.muc_service_info(element)
        if to is not None and to.local:
            return disco.account_info(element)
        return disco.server_info(element)
    return error_reply(element, "service-unavailable")
