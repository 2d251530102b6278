"""XEP-0045 §7.2 presences, shaped as the ConnectyCube SDK needs (connectycube-wire §10.11).

The SDK settles ``join()``/``leave()`` only on a self-presence whose ``<x>`` holds
a child literally named ``xmlns`` with ``<code>110</code>``; standard clients read
``<status code="110"/>``. Both are sent.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, stanza_error

MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
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
