"""XEP-0030 disco#info and disco#items, answered by the server.

Three kinds of entity are asked: the server (``<domain>``: identity
``server/im`` and the features of every XEP folder), the MUC service
(``muc.<domain>``: ``conference/text``), and an account (a user's bare JID,
RFC 6120 §10.5.4: the server answers on the account's behalf with
``account/registered`` and what the account itself offers, XEP-0030 §3.1 and
the registry of categories). A full JID is not ours to answer: it is routed to
that resource (``iq_routing``).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.stanza import E, iq_result

INFO = ns.DISCO_INFO
ITEMS = ns.DISCO_ITEMS

#: Advertised in disco#info of the server.
SERVER_FEATURES = (
    "urn:xmpp:ping",
    "urn:xmpp:carbons:2",
    "urn:xmpp:mam:2",
    "urn:xmpp:sid:0",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
    "http://jabber.org/protocol/chatstates",
    "jabber:iq:privacy",
    "jabber:iq:last",
    "jabber:iq:roster",
    INFO,
    ITEMS,
)

#: What an account's bare JID offers (XEP-0313 §7: its archive is queried there).
ACCOUNT_FEATURES = (INFO, ITEMS, "urn:xmpp:mam:2", "urn:xmpp:ping")


def _info(iq: Element, identity: dict[str, str], features: tuple[str, ...]) -> Element:
    node = iq[0].get("node")
    return iq_result(
        iq,
        E(
            INFO,
            "query",
            {"node": node},
            E(INFO, "identity", identity),
            *(E(INFO, "feature", {"var": f}) for f in features),
        ),
    )


def server_info(iq: Element) -> Element:
    return _info(iq, {"category": "server", "type": "im", "name": "tidings"}, SERVER_FEATURES)


def muc_service_info(iq: Element) -> Element:
    features = (INFO, ITEMS, ns.MUC)
    return _info(iq, {"category": "conference", "type": "text"}, features)


def account_info(iq: Element) -> Element:
    """§3.1 on a bare JID: the account, not the server (RFC 6120 §10.5.4)."""
    return _info(iq, {"category": "account", "type": "registered"}, ACCOUNT_FEATURES)


def items(iq: Element, *jids: str) -> Element:
    """§4.1: the items of an entity (none for an account)."""
    return iq_result(iq, E(ITEMS, "query", {}, *(E(ITEMS, "item", {"jid": j}) for j in jids)))
