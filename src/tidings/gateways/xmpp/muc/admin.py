"""Kicks, affiliations and their lists (XEP-0045 §8.2, §9, §10.3-§10.6) on the dialog.

Affiliations are the dialog's roles: ``owner`` its owner, ``admin`` its admins,
``member`` its other members. Changing them goes through ``core.dialogs``, so the
rights are the same as over the native and ConnectyCube APIs (owners and admins
manage members, only the owner names admins). A dialog has one owner: granting
``owner`` hands it over, and the old owner stays on as an admin. A kick (role ``none``) removes the
occupant from the room, not from the dialog; ``outcast`` removes the member and
kicks them (no ban list is kept: they may be added again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from tidings.domain.models import Dialog
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.muc.handler import leave, presence_of, role_for
from tidings.gateways.xmpp.muc.occupants import table
from tidings.gateways.xmpp.muc.rooms import Room
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result, split

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

_RANK = {"owner": 3, "admin": 2, "member": 1, "none": 0}


class _Refused(Exception):
    def __init__(self, condition: str, text: str) -> None:
        super().__init__(text)
        self.condition = condition
        self.text = text


def _items(iq: Element) -> list[Element]:
    return [c for c in iq[0] if split(c.tag) == (st.MUC_ADMIN, "item")]


def members_with(dialog: Dialog, affiliation: str) -> list[int]:
    if affiliation == "owner":
        return [dialog.owner_id] if dialog.owner_id is not None else []
    if affiliation == "admin":
        return list(dialog.admin_ids)
    if affiliation == "member":
        return [
            u for u in dialog.occupant_ids if u != dialog.owner_id and u not in dialog.admin_ids
        ]
    return []  # outcast: no ban list is kept


async def handle(session: Session, iq: Element, room: Room, dialog: Dialog) -> Element:
    items = _items(iq)
    if not items:
        return error_reply(iq, "bad-request", "an <item/> is required")
    try:
        if iq.get("type") == "get":
            return iq_result(
                iq, E(st.MUC_ADMIN, "query", {}, *_list(session, room, dialog, items[0]))
            )
        for item in items:
            await _apply(session, room, dialog, item)
    except _Refused as refused:
        return error_reply(iq, refused.condition, refused.text)
    return iq_result(iq)


def _list(session: Session, room: Room, dialog: Dialog, item: Element) -> list[Element]:
    """§9.5, §9.8, §10.5, §10.8 lists (any member may read them); §8.5 role lists."""
    if not dialog.is_member:
        raise _Refused("forbidden", "only members read the room's lists")
    affiliation, role = item.get("affiliation"), item.get("role")
    occupants = table(session).in_room(session.app_id, room.dialog_id)
    if affiliation in ("owner", "admin", "member", "outcast"):
        nicks = {o.user_id: o.nick for o in occupants}
        return [
            E(
                st.MUC_ADMIN,
                "item",
                {
                    "affiliation": affiliation,
                    "jid": session.addressing.user(uid, session.app_id).bare,
                    "nick": nicks.get(uid),
                },
            )
            for uid in members_with(dialog, affiliation)
        ]
    if role in ("moderator", "participant"):
        return [
            E(
                st.MUC_ADMIN,
                "item",
                {
                    "role": o.role,
                    "affiliation": o.affiliation,
                    "nick": o.nick,
                    "jid": str(o.session.jid),
                },
            )
            for o in occupants
            if o.role == role
        ]
    raise _Refused("bad-request", "ask for an affiliation or a role list")


def _target(session: Session, room: Room, item: Element) -> int:
    """The user an item names, by ``jid`` (§9) or by ``nick`` (§8)."""
    if item.get("jid"):
        try:
            jid = JID.parse(item.get("jid") or "")
            user_id, app_id = parse_user_local(jid.local)
        except JidError:
            raise _Refused("bad-request", "not a user JID of this server") from None
        if app_id != session.app_id or not session.addressing.is_local(jid):
            raise _Refused("item-not-found", "not a user of this app")
        return user_id
    nick = item.get("nick")
    if nick:
        found = table(session).by_nick(session.app_id, room.dialog_id, nick)
        if found is None:
            raise _Refused("item-not-found", "no occupant with that nick")
        return found.user_id
    raise _Refused("bad-request", "an item names a jid or a nick")


def _affiliation(dialog: Dialog, user_id: int) -> str:
    if dialog.owner_id == user_id:
        return "owner"
    if user_id in dialog.admin_ids:
        return "admin"
    return "member" if user_id in dialog.occupant_ids else "none"


async def _apply(session: Session, room: Room, dialog: Dialog, item: Element) -> None:
    mine = _affiliation(dialog, session.user_id)
    if mine not in ("owner", "admin"):
        raise _Refused("forbidden", "only the owner or an admin of the dialog can do this")
    target = _target(session, room, item)
    theirs = _affiliation(dialog, target)
    actor = session.jid.bare
    role, affiliation = item.get("role"), item.get("affiliation")
    if role is not None and affiliation is None:
        if role != "none":
            raise _Refused("feature-not-implemented", "roles follow affiliations here")
        if _RANK[theirs] >= _RANK[mine] and target != session.user_id:
            raise _Refused("not-allowed", f"an {mine} cannot kick an {theirs}")  # §8.2
        _kick(session, room, target, (st.KICKED,), actor)
        return
    if affiliation == theirs:
        return
    dialogs, me, dialog_id = session.core.dialogs, session.actor, room.dialog_id
    change: dict[str, Any] = {}
    if affiliation == "owner":
        await _hand_over(session, room, target, theirs)
        return
    if theirs == "owner":
        raise _Refused("not-allowed", "the owner's affiliation cannot be changed")
    if affiliation in ("member", "admin") and theirs == "none":
        await dialogs.update_dialog(me, dialog_id, add_occupants=[target])
    if affiliation == "admin":
        change = {"add_admins": [target]}
    elif affiliation == "member" and theirs == "admin":
        change = {"remove_admins": [target]}
    elif affiliation in ("none", "outcast"):
        change = {"remove_occupants": [target]}
    elif affiliation != "member":
        raise _Refused("bad-request", f"unknown affiliation {affiliation!r}")
    if affiliation in ("none", "outcast"):
        if theirs == "admin" and mine != "owner":
            raise _Refused("forbidden", "only the owner can remove an admin")
        # §9.1 a ban (301), §9.5 a members-only room loses a removed member (321). Out
        # of the room first: the dialog's own update would otherwise say 321 to a ban.
        code = st.BANNED if affiliation == "outcast" else st.AFFILIATION_CHANGED
        _kick(session, room, target, (code,), actor)
    if change:
        await dialogs.update_dialog(me, dialog_id, **change)
    if affiliation not in ("none", "outcast"):
        _announce(session, room, target, affiliation or "member")


async def _hand_over(session: Session, room: Room, target: int, theirs: str) -> None:
    """§10.3 with one owner per dialog: the owner hands the dialog over and stays on as
    an admin (``core.dialogs.hand_over``); both changes are broadcast."""
    dialogs, me = session.core.dialogs, session.actor
    if theirs == "none":
        await dialogs.update_dialog(me, room.dialog_id, add_occupants=[target])
    dialog = await dialogs.hand_over(me, room.dialog_id, target)
    _announce(session, room, target, "owner")
    _announce(session, room, session.user_id, _affiliation(dialog, session.user_id))


def _kick(session: Session, room: Room, user_id: int, codes: tuple[str, ...], actor: str) -> None:
    for occupant in table(session).by_user(session.app_id, room.dialog_id, user_id):
        leave(occupant, codes=codes, actor=actor)


def _announce(session: Session, room: Room, user_id: int, affiliation: str) -> None:
    """§9.3, §10.6: the occupant's new affiliation is broadcast to the room."""
    occupants = table(session)
    changed = [
        o
        for o in occupants.by_user(session.app_id, room.dialog_id, user_id)
        if o.affiliation != affiliation  # the dialog's own update may have been first
    ]
    for occupant in changed:
        occupant.affiliation = affiliation
        occupant.role = role_for(affiliation)
    for occupant in changed:
        for viewer in occupants.in_room(session.app_id, room.dialog_id):
            viewer.session.send(presence_of(occupant, viewer))
