"""XEP-0045 §7.2 presences, shaped as the ConnectyCube SDK needs (connectycube-wire §10.11).

The SDK settles ``join()``/``leave()`` only on a self-presence whose ``<x>`` holds
a child literally named ``xmlns`` with ``<code>110</code>``; standard clients read
``<status code="110"/>``. Both are sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, stanza_error

MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
MUC_OWNER = "http://jabber.org/protocol/muc#owner"
DATA = "jabber:x:data"

#: XEP-0045 §15.6 status codes used here.
SELF = "110"
NON_ANONYMOUS = "100"
LOGGED = "170"
CREATED = "201"
NICK_CHANGED = "210"
BANNED = "301"
KICKED = "307"
AFFILIATION_CHANGED = "321"
NEW_NICK = "303"
CLIENT = "jabber:client"


def self_presence(
    presence_id: str | None, room_nick: str, to: str, *, unavailable: bool, role: str
) -> Element:
    affiliation = {"owner": "owner", "admin": "admin"}.get(role, "member")
    x = E(
        MUC_USER,
        "x",
        {},
        E(
            MUC_USER,
            "item",
            {"affiliation": affiliation, "role": "none" if unavailable else "participant"},
        ),
        E(MUC_USER, "status", {"code": "110"}),
    )
    quirk = E(MUC_USER, "xmlns")
    quirk.append(E(MUC_USER, "code", text="110"))
    x.append(quirk)
    return E(
        CLIENT,
        "presence",
        {
            "id": presence_id,
            "from": room_nick,
            "to": to,
            "type": "unavailable" if unavailable else None,
        },
        x,
    )


def join_error(presence_id: str | None, room_nick: str, to: str, text: str) -> Element:
    return E(
        CLIENT,
        "presence",
        {"type": "error", "id": presence_id, "from": room_nick, "to": to},
        E(MUC, "x"),
        stanza_error("forbidden", text, code="403"),
    )


def occupant_presence(
    from_: str,
    to: str,
    *,
    affiliation: str,
    role: str,
    real_jid: str | None = None,
    codes: Iterable[str] = (),
    unavailable: bool = False,
    presence_id: str | None = None,
    actor: str | None = None,
    sdk_code: str | None = None,
    extra: Iterable[Element] = (),
    new_nick: str | None = None,
) -> Element:
    """An occupant's presence as a room sends it (XEP-0045 §7.2.3, §7.2.10, §8.2).

    ``sdk_code``: also the ConnectyCube SDK's ``<xmlns><code>…</code></xmlns>``
    (connectycube-wire §10.11), which settles its ``join()``/``leave()`` and kicks.
    ``extra``: the occupant's own ``<show/>``/``<status/>`` and the like.
    """
    item = E(
        MUC_USER,
        "item",
        {
            "affiliation": affiliation,
            "role": "none" if unavailable and new_nick is None else role,
            "jid": real_jid,
            "nick": new_nick,  # §7.6.3: the nick an occupant is changing to (303)
        },
    )
    if actor is not None:
        item.append(E(MUC_USER, "actor", {"jid": actor}))
    x = E(MUC_USER, "x", {}, item, *(E(MUC_USER, "status", {"code": c}) for c in codes))
    if sdk_code is not None:
        quirk = E(MUC_USER, "xmlns")
        quirk.append(E(MUC_USER, "code", text=sdk_code))
        x.append(quirk)
    presence = E(
        CLIENT,
        "presence",
        {
            "id": presence_id,
            "from": from_,
            "to": to,
            "type": "unavailable" if unavailable else None,
        },
        *extra,
        x,
    )
    if actor is not None and sdk_code is not None:
        # The SDK reads the kicker from a direct child of the presence (§10.11).
        presence.append(E(CLIENT, "item", {}, E(CLIENT, "actor", {"jid": actor})))
    return presence


def presence_error(
    presence_id: str | None, from_: str, to: str, condition: str, text: str | None = None
) -> Element:
    """A refused join (XEP-0045 §7.2.6-§7.2.9): 407, 409, 403, 404 and friends."""
    return E(
        CLIENT,
        "presence",
        {"type": "error", "id": presence_id, "from": from_, "to": to},
        E(MUC, "x"),
        stanza_error(condition, text, **_LEGACY.get(condition, {})),
    )


#: Conditions missing from the RFC 6120 table that XEP-0045 §7.2 uses.
_LEGACY: dict[str, dict[str, str]] = {
    "registration-required": {"type_": "auth", "code": "407"},
    "jid-malformed": {"type_": "modify", "code": "400"},
}


def subject(room: str, to: str, text: str) -> Element:
    """§7.2.15: the subject, last of the join."""
    return E(
        CLIENT,
        "message",
        {"type": "groupchat", "from": room, "to": to},
        E(CLIENT, "subject", text=text),
    )
