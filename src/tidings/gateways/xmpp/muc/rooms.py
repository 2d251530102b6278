"""Which dialog a room JID names: a ConnectyCube room or a room named by its creator.

``<appId>_<dialogId>@muc.<domain>`` is the dialog's own room (connectycube-wire
§10.1). Any other name is a room a standard client made by joining it (XEP-0045
§10.1): its dialog id is derived from the app and the lower-cased name, so every
node and every later join finds the same group dialog without a lookup table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tidings.domain.ids import is_valid_id
from tidings.gateways.xmpp.jid import JID, JidError, parse_room_local


@dataclass(frozen=True, slots=True)
class Room:
    dialog_id: str
    #: The bare room JID as the client wrote it: every stanza about the room uses it.
    jid: str
    #: Named by a client (created on first join), not ``<appId>_<dialogId>``.
    named: bool


def named_room_id(app_id: int, name: str) -> str:
    """The dialog id of the room ``name`` in ``app_id`` (24 hex, like every dialog id)."""
    digest = hashlib.sha256(f"xmpp-room\0{app_id}\0{name.lower()}".encode()).hexdigest()
    return digest[:24]


def resolve(app_id: int, jid: JID) -> Room | None:
    """The room ``jid`` names for a user of ``app_id``; None for another app's room."""
    if not jid.local:
        return None
    try:
        room_app, dialog_id = parse_room_local(jid.local)
    except JidError:
        return Room(named_room_id(app_id, jid.local), jid.bare, True)
    if is_valid_id(dialog_id):
        return Room(dialog_id, jid.bare, False) if room_app == app_id else None
    return Room(named_room_id(app_id, jid.local), jid.bare, True)
