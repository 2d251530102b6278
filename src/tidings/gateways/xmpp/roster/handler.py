"""RFC 6121 roster get/set and subscription presences -> ``core.contacts``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.roster.stanza import NS, item
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


def _user_id(session: Session, jid_text: str) -> int | None:
    try:
        jid = JID.parse(jid_text)
        user_id, app_id = parse_user_local(jid.local)
    except JidError:
        return None
    if app_id != session.app_id or not session.addressing.is_local(jid):
        return None
    return user_id


async def handle_iq(session: Session, iq: Element) -> Element:
    query = child(iq, NS, "query")
    assert query is not None
    if iq.get("type") == "get":
        session.roster_requested = True
        contacts = await session.core.contacts.list_contacts(session.actor)
        items = [
            item(session.addressing.user(c.user_id, session.app_id), c.status) for c in contacts
        ]
        return iq_result(iq, E(NS, "query", {}, *items), from_=None)
    entry = query.find(f"{{{NS}}}item")
    user_id = _user_id(session, entry.get("jid", "")) if entry is not None else None
    if entry is None or user_id is None:
        return error_reply(iq, "bad-request", "one item with a user JID")
    if entry.get("subscription") == "remove":
        await session.core.contacts.remove(session.actor, user_id)
    return iq_result(iq)


async def handle_presence(session: Session, presence: Element) -> None:
    user_id = _user_id(session, presence.get("to", ""))
    if user_id is None:
        return
    kind = presence.get("type")
    contacts = session.core.contacts
    if kind == "subscribe":
        await contacts.request(session.actor, user_id)
    elif kind == "subscribed":
        await contacts.confirm(session.actor, user_id)
    elif kind == "unsubscribed":
        try:
            await contacts.reject(session.actor, user_id)
        except Exception:
            await contacts.remove(session.actor, user_id)
    elif kind == "unsubscribe":
        await contacts.remove(session.actor, user_id)
