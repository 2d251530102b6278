"""Joining and leaving a room: membership checked by ``core.dialogs`` (XEP-0045 §7.2, §7.14).

Delivery does not depend on joining: every member hears a group's messages
(connectycube-wire §10.4). Joining a public dialog subscribes to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError
from tidings.gateways.xmpp.jid import JID, JidError, parse_room_local
from tidings.gateways.xmpp.muc.stanza import join_error, self_presence
from tidings.gateways.xmpp.stanza import E, iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

DISCO_ITEMS = "http://jabber.org/protocol/disco#items"


def room_dialog(session: Session, jid: JID) -> str | None:
    try:
        app_id, dialog_id = parse_room_local(jid.local)
    except JidError:
        return None
    return dialog_id if app_id == session.app_id else None


async def handle_presence(session: Session, presence: Element, to: JID) -> None:
    dialog_id = room_dialog(session, to)
    room_nick = str(session.addressing.room(session.app_id, dialog_id or "x", session.user_id))
    if dialog_id is None:
        session.send(join_error(presence.get("id"), str(to), str(session.jid), "no such room"))
        return
    leaving = presence.get("type") == "unavailable"
    try:
        dialog = await session.core.dialogs.get_dialog(session.actor, dialog_id)
        if not dialog.is_member and dialog.type == "public" and not leaving:
            dialog = await session.core.dialogs.subscribe(session.actor, dialog_id)
    except DomainError:
        session.send(join_error(presence.get("id"), room_nick, str(session.jid), "not an occupant"))
        return
    if not dialog.is_member and not leaving:
        session.send(join_error(presence.get("id"), room_nick, str(session.jid), "not an occupant"))
        return
    session.dialog_types[dialog_id] = dialog.type
    role = (
        "owner"
        if dialog.owner_id == session.user_id
        else ("admin" if session.user_id in dialog.admin_ids else "member")
    )
    session.send(
        self_presence(
            presence.get("id"), room_nick, str(session.jid), unavailable=leaving, role=role
        )
    )
    if not leaving and not (presence.get("id") or "").endswith(":join"):
        # XEP-0045 §7.2.15: the subject ends the join for standard clients. The SDK
        # (whose join ids end in ":join") would report a body-less message, so it gets none.
        session.send(
            E(
                "jabber:client",
                "message",
                {"type": "groupchat", "from": to.bare, "to": str(session.jid)},
                E("jabber:client", "subject", text=dialog.name or ""),
            )
        )


async def disco_items(session: Session, iq: Element, to: JID) -> Element:
    """Online occupants of the room (connectycube-wire §10.11)."""
    dialog_id = room_dialog(session, to)
    if dialog_id is None:
        return iq_result(iq, E(DISCO_ITEMS, "query"))
    dialog = await session.core.dialogs.get_dialog(session.actor, dialog_id)
    online = await session.core.presence.online_among(dialog.occupant_ids)
    items = [
        E(
            DISCO_ITEMS,
            "item",
            {"jid": str(session.addressing.room(session.app_id, dialog_id, uid))},
        )
        for uid in dialog.occupant_ids
        if uid in online
    ]
    return iq_result(iq, E(DISCO_ITEMS, "query", {}, *items))
