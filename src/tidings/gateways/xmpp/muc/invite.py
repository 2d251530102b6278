"""Mediated invitations (XEP-0045 §7.8.2): the room adds the invitee and tells them.

A room is a dialog, so inviting someone into a members-only room makes them a
member, with the inviter's rights in ``core.dialogs`` (in a group any member may
add people; a public dialog needs its owner or an admin). The invitation goes
to the invitee's sessions on this node, from the room; a refused one comes back
to the inviter as a message error from the room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc import rooms
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.stanza import E, child, split, stanza_error

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


def _invitee(session: Session, text: str | None) -> int | None:
    try:
        jid = JID.parse(text or "")
        user_id, app_id = parse_user_local(jid.local)
    except JidError:
        return None
    if app_id != session.app_id or not session.addressing.is_local(jid):
        return None
    return user_id


async def handle(session: Session, message: Element, to: JID) -> bool:
    """True when ``message`` was a room's ``<x xmlns=muc#user>`` (invite or decline):
    it is handled here and never posted to the room as a message."""
    x = child(message, st.MUC_USER, "x")
    if x is None or to.resource or not session.addressing.is_muc(to):
        return False
    room = rooms.resolve(session.app_id, to)
    invites = [c for c in x if split(c.tag) == (st.MUC_USER, "invite")]
    if room is None or not invites:
        return True  # declines (§7.8.2) and the like: nothing to store, nobody to tell here
    for invite in invites:
        user_id = _invitee(session, invite.get("to"))
        if user_id is None:
            _refuse(session, message, room, stanza_error("item-not-found", "not a user here"))
            continue
        try:
            await session.core.dialogs.update_dialog(
                session.actor, room.dialog_id, add_occupants=[user_id]
            )
        except DomainError as exc:
            _refuse(session, message, room, mapping.error_for(exc.code, exc.status, exc.message))
            continue
        reason = child(invite, st.MUC_USER, "reason")
        for target in session.gateway.registry.of_user(session.app_id, user_id):
            recipient: Any = target
            recipient.send(
                E(
                    st.CLIENT,
                    "message",
                    {"from": room.jid, "to": str(recipient.jid), "id": message.get("id")},
                    E(
                        st.MUC_USER,
                        "x",
                        {},
                        E(
                            st.MUC_USER,
                            "invite",
                            {"from": str(session.jid)},
                            E(st.MUC_USER, "reason", text=reason.text or "")
                            if reason is not None
                            else None,
                        ),
                    ),
                )
            )
    return True


def _refuse(session: Session, message: Element, room: rooms.Room, error: Element) -> None:
    session.send(
        E(
            st.CLIENT,
            "message",
            {"type": "error", "id": message.get("id"), "from": room.jid, "to": str(session.jid)},
            error,
        )
    )
