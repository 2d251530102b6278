"""Joining, leaving and being in a room (XEP-0045 §7), membership from ``core.dialogs``.

A room is a dialog (``rooms``); who may join is the dialog's members (a public
dialog is joined by subscribing, a room named by a new joiner is created with the
joiner as its owner, §10.1); who is in it right now is ``occupants``.

Nothing answers an ``unavailable`` presence to a room the session is not in:
a client that leaves rooms it never joined would otherwise be answered with a
presence it answers in turn, for ever (§7.14).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.domain.errors import DomainError, Forbidden
from tidings.domain.models import Dialog, HistoryFilter
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.muc import rooms
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.muc.occupants import Occupant, occupant_jid, table
from tidings.gateways.xmpp.stanza import E, child, iq_result, split, stanza_error

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
CLIENT = "jabber:client"
#: Presence children an occupant's presence carries to the others (RFC 6121 §4.7).
_CARRIED = ("show", "status", "priority")


def room_dialog(session: Session, jid: JID) -> str | None:
    """The dialog id of the room ``jid`` names (None: not a room of the session's app)."""
    room = rooms.resolve(session.app_id, jid)
    return room.dialog_id if room is not None else None


def affiliation_of(dialog: Dialog, user_id: int) -> str:
    if dialog.owner_id == user_id:
        return "owner"
    if user_id in dialog.admin_ids:
        return "admin"
    return "member" if dialog.is_member else "none"


def role_for(affiliation: str) -> str:
    """Owners and admins moderate (§5.1.2); everyone else takes part."""
    return "moderator" if affiliation in ("owner", "admin") else "participant"


def presence_of(
    occupant: Occupant,
    viewer: Occupant,
    *,
    codes: tuple[str, ...] = (),
    unavailable: bool = False,
    presence_id: str | None = None,
    actor: str | None = None,
    extra: tuple[Element, ...] = (),
    new_nick: str | None = None,
) -> Element:
    """``occupant``'s presence as ``viewer`` sees it: from the room as the viewer named it.

    The room is non-anonymous (§7.2.10): every occupant sees the others' real JIDs.
    """
    self_ = viewer.session is occupant.session
    sdk_code = None
    if self_:
        codes = (st.SELF, *codes)
        sdk_code = "110"
    if actor is not None and (st.KICKED in codes or st.BANNED in codes):
        sdk_code = st.BANNED if self_ else None
    return st.occupant_presence(
        f"{viewer.room.jid}/{occupant.nick}",
        str(viewer.session.jid),
        affiliation=occupant.affiliation,
        role=occupant.role,
        real_jid=str(occupant.session.jid),
        codes=codes,
        unavailable=unavailable,
        presence_id=presence_id if self_ else None,
        actor=actor,
        sdk_code=sdk_code,
        extra=extra,
        new_nick=new_nick,
    )


def _carried(presence: Element) -> tuple[Element, ...]:
    return tuple(c for c in presence if split(c.tag) in ((CLIENT, n) for n in _CARRIED))


async def handle_presence(session: Session, presence: Element, to: JID) -> None:
    kind = presence.get("type")
    if kind not in (None, "available", "unavailable"):
        return  # subscriptions, probes and errors have no meaning for a room here
    occupants = table(session)
    room = rooms.resolve(session.app_id, to)
    leaving = kind == "unavailable"
    if room is None:
        if not leaving:
            session.send(
                st.presence_error(
                    presence.get("id"), str(to), str(session.jid), "item-not-found", "no such room"
                )
            )
        return
    mine = occupants.of(session, room.dialog_id)
    if leaving:
        if mine is not None:
            leave(mine, presence_id=presence.get("id"))
        return  # §7.14; never answered otherwise (see the module doc)
    if mine is not None:
        _update(mine, presence, to)
        return
    await _join(session, presence, to, room)


async def _open(session: Session, room: rooms.Room, to: JID) -> tuple[Dialog, bool]:
    """The room's dialog, created for a new name (§10.1), subscribed for a public one."""
    dialogs = session.core.dialogs
    if room.named:
        return await dialogs.open_room(session.actor, room.dialog_id, to.local)
    dialog = await dialogs.get_dialog(session.actor, room.dialog_id)
    if not dialog.is_member and dialog.type == "public":
        dialog = await dialogs.subscribe(session.actor, room.dialog_id)
    return dialog, False


async def _join(session: Session, presence: Element, to: JID, room: rooms.Room) -> None:
    presence_id = presence.get("id")
    sdk = (presence_id or "").endswith(":join")
    me = str(session.jid)
    if not to.resource:
        session.send(
            st.presence_error(presence_id, to.bare, me, "jid-malformed", "a nickname is required")
        )
        return
    try:
        dialog, created = await _open(session, room, to)
    except Forbidden as exc:
        if room.named and exc.code == "not_a_member":
            # §7.2.7: a members-only room refuses others with 407.
            session.send(
                st.presence_error(presence_id, str(to), me, "registration-required", "members only")
            )
            return
        session.send(st.join_error(presence_id, str(to), me, "not an occupant"))
        return
    except DomainError:
        # connectycube-wire §10.11: the SDK rejects join() on exactly this error.
        session.send(st.join_error(presence_id, str(to), me, "not an occupant"))
        return
    if not dialog.is_member or dialog.type == "private":
        session.send(st.join_error(presence_id, str(to), me, "not an occupant"))
        return
    occupants = table(session)
    codes: list[str] = []
    nick = to.resource
    if not room.named and nick != str(session.user_id):
        # A ConnectyCube room names each occupant by user id (connectycube-wire §10.1).
        nick = str(session.user_id)
        codes.append(st.NICK_CHANGED)
    holder = occupants.by_nick(session.app_id, room.dialog_id, nick)
    if holder is not None and holder.user_id != session.user_id:
        session.send(st.presence_error(presence_id, str(to), me, "conflict", "nickname in use"))
        return
    if holder is not None:
        nick = holder.nick  # the same user from another resource shares the nick
    affiliation = affiliation_of(dialog, session.user_id)
    newcomer = Occupant(session, room, nick, affiliation, role_for(affiliation))
    if child(presence, st.MUC, "x") is not None and not sdk:
        occupants.standard.add(session)
    session.dialog_types[dialog.id] = dialog.type
    others = occupants.in_room(session.app_id, room.dialog_id)
    occupants.add(newcomer)
    extra = _carried(presence)
    # §7.2.3: the others' presences first, then theirs of the newcomer, then the self-presence.
    for other in others:
        session.send(presence_of(other, newcomer))
        other.session.send(presence_of(newcomer, other, extra=extra))
    codes += [st.NON_ANONYMOUS, st.LOGGED]  # §7.2.10 real JIDs shown; §7.2.12 archived
    if created:
        codes.append(st.CREATED)  # §10.1.1
    session.send(
        presence_of(newcomer, newcomer, codes=tuple(codes), presence_id=presence_id, extra=extra)
    )
    if not sdk:
        await _history(session, presence, newcomer)
        # §7.2.15: the subject ends the join. The SDK (join ids end in ":join") would
        # report a body-less message, so it gets none.
        session.send(st.subject(room.jid, me, dialog.name or ""))


#: Messages of history sent on join when the client does not say (§7.2.14).
DEFAULT_HISTORY = 20
MAX_HISTORY = 50


def history_wanted(presence: Element, now_ms: int) -> tuple[int, int | None]:
    """§7.2.14 ``<history/>``: how many messages, and from when (ms), the joiner wants."""
    x = child(presence, st.MUC, "x")
    wanted = child(x, st.MUC, "history") if x is not None else None
    if wanted is None:
        return DEFAULT_HISTORY, None
    count = MAX_HISTORY
    stanzas = (wanted.get("maxstanzas") or "").strip()
    if stanzas.isdigit():
        count = min(count, int(stanzas))
    if (wanted.get("maxchars") or "").strip() == "0":
        count = 0  # "no history at all"
    since: int | None = None
    seconds = (wanted.get("seconds") or "").strip()
    if seconds.isdigit():
        since = now_ms - int(seconds) * 1000
    stamp = wanted.get("since")
    if stamp:
        try:
            moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            since = int(moment.timestamp() * 1000)
        except ValueError:
            pass  # an unreadable stamp limits nothing
    return count, since


async def _history(session: Session, presence: Element, newcomer: Occupant) -> None:
    """§7.2.14: the room's last messages, delayed and from their authors' occupant JIDs."""
    count, since = history_wanted(presence, session.core.clock.now_ms())
    if count <= 0:
        return
    page = await session.core.messages.history(
        session.actor,
        newcomer.room.dialog_id,
        HistoryFilter(since_ms=since, descending=True, limit=count),
    )
    for message in reversed(page.messages):
        session.send(
            mapping.message_stanza(
                message.to_dict(),
                type_="groupchat",
                sender=occupant_jid(session, newcomer.room.dialog_id, message.sender_id),
                to=session.jid,
                archive=newcomer.room.jid,
                delayed=True,
            )
        )


def _update(mine: Occupant, presence: Element, to: JID) -> None:
    """§7.7: a present occupant's new show/status goes to everyone, itself included;
    a presence to another nick changes nicks (§7.6)."""
    session = mine.session
    extra = _carried(presence)
    if to.resource and to.resource != mine.nick:
        _change_nick(mine, presence, to.resource, extra)
        return
    for other in table(session).in_room(session.app_id, mine.room.dialog_id):
        other.session.send(presence_of(mine, other, presence_id=presence.get("id"), extra=extra))


def _change_nick(mine: Occupant, presence: Element, nick: str, extra: tuple[Element, ...]) -> None:
    """§7.6: unavailable with 303 and the new nick, then available under it, to everyone.

    A ConnectyCube room names occupants by user id, so its nicks do not change;
    a nick another user holds is a ``conflict`` (§7.6.2).
    """
    session = mine.session
    me, wanted = str(session.jid), f"{mine.room.jid}/{nick}"
    if not mine.room.named:
        refusal = st.presence_error(
            presence.get("id"), wanted, me, "not-acceptable", "nicks here are user ids"
        )
        session.send(refusal)
        return
    occupants = table(session)
    holder = occupants.by_nick(session.app_id, mine.room.dialog_id, nick)
    if holder is not None and holder.user_id != session.user_id:
        session.send(
            st.presence_error(presence.get("id"), wanted, me, "conflict", "nickname in use")
        )
        return
    everyone = occupants.in_room(session.app_id, mine.room.dialog_id)
    for other in everyone:
        other.session.send(
            presence_of(mine, other, codes=(st.NEW_NICK,), unavailable=True, new_nick=nick)
        )
    mine.nick = nick
    for other in everyone:
        other.session.send(presence_of(mine, other, presence_id=presence.get("id"), extra=extra))


def leave(
    occupant: Occupant,
    *,
    presence_id: str | None = None,
    codes: tuple[str, ...] = (),
    actor: str | None = None,
) -> None:
    """§7.14 (and §8.2 kicks): unavailable to the others, then to the occupant itself."""
    session = occupant.session
    occupants = table(session)
    occupants.remove(session, occupant.room.dialog_id)
    for other in occupants.in_room(session.app_id, occupant.room.dialog_id):
        other.session.send(presence_of(occupant, other, codes=codes, unavailable=True, actor=actor))
    session.send(
        presence_of(
            occupant, occupant, codes=codes, unavailable=True, presence_id=presence_id, actor=actor
        )
    )


def session_ended(session: Session) -> None:
    """The session is gone: it leaves every room it was in (the others are told)."""
    occupants = table(session)
    for occupant in occupants.rooms_of(session):
        occupants.remove(session, occupant.room.dialog_id)
        for other in occupants.in_room(session.app_id, occupant.room.dialog_id):
            other.session.send(presence_of(occupant, other, unavailable=True))
    occupants.standard.discard(session)


def dialog_changed(session: Session, event: object) -> None:
    """A dialog changed through any API or node: the session's occupancy follows it.

    Removed from the dialog (or the dialog deleted), the occupant leaves the room
    with 321 (§9.5); a new owner or admin shows in a presence to everyone (§9.3).
    """
    if not isinstance(event, ev.DialogUpdated | ev.DialogDeleted):
        return
    occupant = table(session).of(session, event.dialog_id)
    if occupant is None:
        return
    if isinstance(event, ev.DialogDeleted):
        leave(occupant, codes=(st.AFFILIATION_CHANGED,))
        return
    view = event.dialog
    members = view.get("occupant_ids") or []  # empty: too many to list, so unknown
    user_id = session.user_id
    if members and user_id not in members and view.get("type") != "public":
        leave(occupant, codes=(st.AFFILIATION_CHANGED,))
        return
    if view.get("owner_id") == user_id:
        affiliation = "owner"
    elif user_id in (view.get("admin_ids") or []):
        affiliation = "admin"
    else:
        affiliation = "member"  # joining took membership (or a subscription)
    if affiliation == occupant.affiliation:
        return
    occupant.affiliation, occupant.role = affiliation, role_for(affiliation)
    for viewer in table(session).in_room(session.app_id, occupant.room.dialog_id):
        viewer.session.send(presence_of(occupant, viewer))


def refuse_private_message(session: Session, message: Element, to: JID) -> bool:
    """§7.5: a private message to an occupant is refused, never posted to the room.

    Only ``groupchat`` reaches the room; anything else to ``room/nick`` would otherwise
    be stored as a group message everyone reads. True: the message was handled here.
    """
    if message.get("type") == "groupchat" or not (session.addressing.is_muc(to) and to.resource):
        return False
    if child(message, CLIENT, "body") is not None:
        session.send(
            E(
                CLIENT,
                "message",
                {"type": "error", "id": message.get("id"), "from": str(to), "to": str(session.jid)},
                stanza_error(
                    "feature-not-implemented",
                    "private messages in rooms are not supported; write to the user's JID",
                ),
            )
        )
    return True


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
