"""Who is in which room on this node, and what that changes about delivery.

XEP-0045 occupancy is a property of a session, not of the dialog: a dialog's
members are who may join; occupants are the sessions that did (§7.2). The table
lives in memory per node; a session that ends leaves every room (§7.14).

Delivery: the ConnectyCube SDK hears every group message of its dialogs without
joining (connectycube-wire §10.4). A standard client hears a room only while it is
an occupant (XEP-0045 §7.2). Nothing in a stream names the SDK (it sends no entity
capabilities, but neither do all others), so what a session does tells them apart:
a session is a standard client once it asks for its roster (RFC 6121 §2.2: what
standard clients do at login, and the SDK never does) or joins a room the standard
way (``<x xmlns=".../muc"/>``, an id not ending in ``:join``). Until then it hears
every group message of its dialogs, as the SDK expects.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.muc.rooms import Room

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


@dataclass(slots=True, eq=False)
class Occupant:
    session: Session
    room: Room
    nick: str
    #: owner, admin, member or none (a visitor of a public dialog).
    affiliation: str
    #: moderator or participant.
    role: str

    @property
    def jid(self) -> str:
        return f"{self.room.jid}/{self.nick}"

    @property
    def user_id(self) -> int:
        return self.session.user_id


class Occupants:
    """The rooms of one node: by dialog, and by session."""

    def __init__(self) -> None:
        self._by_room: dict[tuple[int, str], dict[Session, Occupant]] = {}
        self._by_session: dict[Session, dict[str, Occupant]] = {}
        #: Sessions that hear rooms only while joined.
        self.standard: weakref.WeakSet[Session] = weakref.WeakSet()

    def in_room(self, app_id: int, dialog_id: str) -> list[Occupant]:
        return list(self._by_room.get((app_id, dialog_id), {}).values())

    def of(self, session: Session, dialog_id: str) -> Occupant | None:
        return self._by_session.get(session, {}).get(dialog_id)

    def rooms_of(self, session: Session) -> list[Occupant]:
        return list(self._by_session.get(session, {}).values())

    def by_nick(self, app_id: int, dialog_id: str, nick: str) -> Occupant | None:
        wanted = nick.casefold()
        for occupant in self.in_room(app_id, dialog_id):
            if occupant.nick.casefold() == wanted:
                return occupant
        return None

    def by_user(self, app_id: int, dialog_id: str, user_id: int) -> list[Occupant]:
        return [o for o in self.in_room(app_id, dialog_id) if o.user_id == user_id]

    def add(self, occupant: Occupant) -> None:
        session = occupant.session
        key = (session.app_id, occupant.room.dialog_id)
        self._by_room.setdefault(key, {})[session] = occupant
        self._by_session.setdefault(session, {})[occupant.room.dialog_id] = occupant

    def remove(self, session: Session, dialog_id: str) -> Occupant | None:
        occupant = self._by_session.get(session, {}).pop(dialog_id, None)
        if occupant is None:
            return None
        if not self._by_session[session]:
            del self._by_session[session]
        key = (session.app_id, dialog_id)
        room = self._by_room.get(key, {})
        room.pop(session, None)
        if not room:
            self._by_room.pop(key, None)
        return occupant


_tables: weakref.WeakKeyDictionary[Any, Occupants] = weakref.WeakKeyDictionary()


def table(session: Session) -> Occupants:
    """The occupant table of the session's node (one per gateway)."""
    found = _tables.get(session.gateway)
    if found is None:
        found = _tables[session.gateway] = Occupants()
    return found


def standard_client(session: Session) -> bool:
    """Whether the session behaves as a standard MUC client (see the module doc)."""
    return session.roster_requested or session in table(session).standard


def hears(session: Session, event: Any) -> bool:
    """Whether a bus event about a dialog goes to this session (see the module doc)."""
    occupants = table(session)
    if not standard_client(session):
        return True
    dialog_id = getattr(event, "dialog_id", None)
    if dialog_id is None or session.dialog_types.get(dialog_id, "private") == "private":
        return True
    return occupants.of(session, dialog_id) is not None


def occupant_jid(session: Session, dialog_id: str, user_id: int) -> JID:
    """``user_id``'s occupant JID in the room as this session knows it.

    A session that joined the room by a name of its own hears it from that name and
    the author's nick; any other from ``<appId>_<dialogId>@muc…/<userId>``.
    """
    occupants = table(session)
    mine = occupants.of(session, dialog_id)
    if mine is None:
        return session.addressing.room(session.app_id, dialog_id, user_id)
    authors = occupants.by_user(session.app_id, dialog_id, user_id)
    nick = authors[0].nick if authors else str(user_id)
    room = JID.parse(mine.room.jid)
    return JID(room.local, room.domain, nick)


def reflected_to(session: Session, dialog_id: str) -> bool:
    """Whether the author's own resource gets the room's reflection of a message (§7.4)."""
    return not standard_client(session) or table(session).of(session, dialog_id) is not None
