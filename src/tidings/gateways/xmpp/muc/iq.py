"""iqs addressed to a room or an occupant: disco, admin, owner, self-ping.

XEP-0045 §6.4 (room disco#info, its features and ``muc#roominfo``), §6.5
(disco#items), §8-§10 (``muc#admin``, ``muc#owner``) and XEP-0410 (self-ping: an
occupant pinging its own occupant JID learns whether it is still joined).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError, NotFound
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.muc import admin, config, rooms
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.muc.handler import disco_items
from tidings.gateways.xmpp.muc.occupants import table
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result, split

if TYPE_CHECKING:
    from tidings.domain.models import Dialog
    from tidings.gateways.xmpp.session import Session

DISCO_INFO = "http://jabber.org/protocol/disco#info"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
PING = "urn:xmpp:ping"
ROOMINFO = "http://jabber.org/protocol/muc#roominfo"


def features(dialog: Dialog) -> list[str]:
    """§6.4 / §15.5.4: what the room is, from the dialog's type."""
    public = dialog.type == "public"
    return [
        st.MUC,
        DISCO_INFO,
        DISCO_ITEMS,
        "muc_persistent",
        "muc_open" if public else "muc_membersonly",
        "muc_public" if public else "muc_hidden",
        "muc_nonanonymous",
        "muc_unmoderated",
        "muc_unsecured",
        "urn:xmpp:mam:2",
        "urn:xmpp:sid:0",
        "http://jabber.org/protocol/muc#self-ping-optimization",
    ]


async def handle(session: Session, iq: Element, to: JID) -> Element:
    """The answer to a get or set with one payload to ``room@muc…`` or ``room@muc…/nick``."""
    namespace, local = split(iq[0].tag)
    room = rooms.resolve(session.app_id, to)
    if room is None:
        return error_reply(iq, "item-not-found", "no such room")
    if to.resource:
        return _to_occupant(session, iq, to, room, namespace)
    try:
        dialog = await session.core.dialogs.get_dialog(session.actor, room.dialog_id)
        if dialog.type == "private":
            raise NotFound("no such room")
        if namespace == DISCO_INFO and iq.get("type") == "get":
            return _info(iq, dialog)
        if namespace == DISCO_ITEMS and iq.get("type") == "get":
            return await _items(session, iq, to, room)
        if namespace == st.MUC_ADMIN:
            return await admin.handle(session, iq, room, dialog)
        if namespace == st.MUC_OWNER:
            return await config.handle(session, iq, dialog)
        if namespace == PING:
            return iq_result(iq)
    except NotFound:
        return error_reply(iq, "item-not-found", "no such room")
    except DomainError as exc:
        reply = error_reply(iq, "bad-request")
        reply.remove(reply[-1])
        reply.append(mapping.error_for(exc.code, exc.status, exc.message))
        return reply
    del local
    return error_reply(iq, "service-unavailable")


def _to_occupant(
    session: Session, iq: Element, to: JID, room: rooms.Room, namespace: str
) -> Element:
    """XEP-0410 §3: the room answers a ping to one's own occupant JID."""
    mine = table(session).of(session, room.dialog_id)
    if namespace == PING:
        if mine is None:
            return error_reply(iq, "not-acceptable", "not an occupant of this room")
        if mine.nick.casefold() == to.resource.casefold():
            return iq_result(iq)
    return error_reply(iq, "service-unavailable")


def _info(iq: Element, dialog: Dialog) -> Element:
    identity = E(
        DISCO_INFO,
        "identity",
        {"category": "conference", "type": "text", "name": dialog.name or dialog.id},
    )
    form = E(
        st.DATA,
        "x",
        {"type": "result"},
        E(
            st.DATA,
            "field",
            {"var": "FORM_TYPE", "type": "hidden"},
            E(st.DATA, "value", text=ROOMINFO),
        ),
        E(
            st.DATA,
            "field",
            {"var": "muc#roominfo_description", "label": "Description"},
            E(st.DATA, "value", text=dialog.description or ""),
        ),
        E(
            st.DATA,
            "field",
            {"var": "muc#roominfo_occupants", "label": "Members"},
            E(st.DATA, "value", text=str(len(dialog.occupant_ids))),
        ),
    )
    found = [E(DISCO_INFO, "feature", {"var": f}) for f in features(dialog)]
    return iq_result(iq, E(DISCO_INFO, "query", {}, identity, *found, form))


async def _items(session: Session, iq: Element, to: JID, room: rooms.Room) -> Element:
    """§6.5: a named room lists its occupants here; a ConnectyCube room its online members."""
    if not room.named:
        return await disco_items(session, iq, to)
    items = [
        E(DISCO_ITEMS, "item", {"jid": f"{to.bare}/{o.nick}"})
        for o in table(session).in_room(session.app_id, room.dialog_id)
    ]
    return iq_result(iq, E(DISCO_ITEMS, "query", {}, *items))
