"""Routes each stanza of a bound session to the handler for its kind and namespace."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError
from tidings.gateways.xmpp import chat, mapping, services
from tidings.gateways.xmpp.jid import JID, JidError
from tidings.gateways.xmpp.muc import handler as muc
from tidings.gateways.xmpp.muc import iq as muc_iq
from tidings.gateways.xmpp.presence import handler as presence_handler
from tidings.gateways.xmpp.stanza import error_reply, split
from tidings.gateways.xmpp.xep_0313.form import NS as mam_ns

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
        if session.gateway.caps.answered(session, element):
            return None  # XEP-0115 §6.2: the disco#info we asked for the client's caps
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
    service = services.BY_NAMESPACE.get(split(element[0].tag)[0])
    if service is None or not service.for_accounts:
        return error_reply(element, "service-unavailable")
    await session.core.users.get_user(session.actor, user_id)  # NotFound: no such account
    return await service.handle(session, element)


async def served(session: Session, element: Element, to: JID | None) -> Element:
    """An iq to the server, the MUC service or the user's own bare JID."""
    namespace = split(element[0].tag)[0]
    if to is not None and to.local and session.addressing.is_muc(to) and namespace != mam_ns:
        return await muc_iq.handle(session, element, to)  # XEP-0045 rooms, XEP-0410
    service = services.BY_NAMESPACE.get(namespace)
    if service is None:
        return error_reply(element, "service-unavailable")  # RFC 6120 §8.4
    return await service.handle(session, element)
