"""RFC 6121 roster get/set (§2) and subscription presences (§3) -> ``core.contacts``."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.roster.stanza import (
    CLIENT,
    GONE,
    NS,
    item,
    read_item,
    roster_push,
    version,
)
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


def _user_id(session: Session, jid_text: str) -> int | None:
    try:
        jid = JID.parse(jid_text)
        user_id, app_id = parse_user_local(jid.local)
    except JidError:
        return None
    if app_id != session.app_id or not session.addressing.is_local(jid) or jid.resource:
        return None
    return user_id


async def handle_iq(session: Session, iq: Element) -> Element:
    query = child(iq, NS, "query")
    if query is None:
        return error_reply(iq, "bad-request", "a roster iq carries <query/>")
    to = iq.get("to")
    if to and to not in (session.jid.bare, str(session.jid)):
        return error_reply(iq, "forbidden", "only your own roster")  # §2.1.5
    if iq.get("type") == "get":
        session.roster_requested = True  # §2.1.6: an interested resource from now on
        contacts = await session.core.contacts.roster(session.actor)
        items = [
            item(session.addressing.user(c.user_id, session.app_id), c.status, c.name, c.groups)
            for c in contacts
        ]
        cached = query.get("ver")
        if cached is None:
            return iq_result(iq, E(NS, "query", {}, *items), from_=None)
        session.roster_versioned = True  # §2.6.3: its pushes carry a version
        current = version(items)
        if cached == current:
            return iq_result(iq, from_=None)  # §2.6.3: the cached roster is current
        return iq_result(iq, E(NS, "query", {"ver": current}, *items), from_=None)
    if iq.get("type") != "set":
        return error_reply(iq, "bad-request", "roster get or set")
    entry, problem = read_item(query)
    if entry is None:
        return error_reply(iq, "bad-request", problem)
    user_id = _user_id(session, entry.get("jid", ""))
    if user_id is None or user_id == session.user_id:
        return error_reply(iq, "item-not-found", "no such user here")
    if entry.get("subscription") == "remove":
        await session.core.contacts.remove_item(session.actor, user_id)  # §2.5
    else:
        groups = [g.text or "" for g in entry.findall(f"{{{NS}}}group")]
        await session.core.contacts.set_item(session.actor, user_id, entry.get("name"), groups)
    return iq_result(iq)


SERVICE = IqService(NS, handle_iq, server_features=(NS,))


async def handle_presence(session: Session, presence: Element) -> None:
    """§3: ``subscribe``, ``subscribed``, ``unsubscribe``, ``unsubscribed`` to a user."""
    user_id = _user_id(session, (presence.get("to") or "").split("/", 1)[0])
    kind = presence.get("type") or ""
    if user_id is None or user_id == session.user_id:
        return  # §3.1.3: no such contact: nothing to route
    await session.core.contacts.subscription(session.actor, user_id, kind)


def stanzas_for(session: Session, event: ev.ContactChanged) -> list[Element]:
    """A roster push to interested resources (§2.1.6) and the subscription presences
    to available ones (§3.1.3; the rest wait for the next initial presence)."""
    if event.user_id != session.user_id:
        return []
    other = session.addressing.user(event.contact_id, session.app_id)
    out = []
    if event.status and session.roster_requested:
        entry = item(other, event.status, event.item_name, event.groups)
        if event.status in GONE:
            entry = item(other, "removed")
        # §2.6.3: a pushed version is never the digest of a whole roster, so a client
        # that comes back with it gets the roster as it is then, whatever it missed.
        ver = f"push-{secrets.token_hex(8)}" if session.roster_versioned else None
        out.append(roster_push(session.jid, entry, f"push-{secrets.token_hex(6)}", ver))
    kinds = (event.presence or "").split()
    if event.status == "rejected" and not kinds:
        kinds = ["unsubscribed"]  # §3.2: the requester learns of a refusal
    if session.available:
        for kind in kinds:
            out.append(
                E(CLIENT, "presence", {"type": kind, "from": other.bare, "to": str(session.jid)})
            )
    return out
