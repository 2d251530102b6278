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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError
from tidings.gateways.xmpp.muc import handler as muc
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result
from tidings.gateways.xmpp.xep_0115 import stanza as caps

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session
    from tidings.settings import Settings

INFO = ns.DISCO_INFO
ITEMS = ns.DISCO_ITEMS


SERVER_IDENTITY = {"category": "server", "type": "im", "name": "tidings"}


def info_query(
    identity: dict[str, str],
    features: tuple[str, ...],
    extras: Sequence[Element] = (),
    node: str | None = None,
) -> Element:
    """§3.1 ``<query/>``; ``extras`` are more identities (listed with ours) and XEP-0128
    forms (last)."""
    more_identities = [e for e in extras if e.tag == f"{{{INFO}}}identity"]
    return E(
        INFO,
        "query",
        {"node": node},
        E(INFO, "identity", identity),
        *more_identities,
        *(E(INFO, "feature", {"var": f}) for f in features),
        *(e for e in extras if e.tag != f"{{{INFO}}}identity"),
    )


def _info(
    iq: Element,
    identity: dict[str, str],
    features: tuple[str, ...],
    extras: Sequence[Element] = (),
) -> Element:
    return iq_result(iq, info_query(identity, features, extras, iq[0].get("node")))


def server_info(iq: Element, features: tuple[str, ...], extras: Sequence[Element] = ()) -> Element:
    return _info(iq, SERVER_IDENTITY, features, extras)


def caps_node(query: Element) -> str:
    """XEP-0115 §6.2: the node under which the server's info is asked for by its caps."""
    return f"{caps.NODE}#{caps.ver_of(query)}"


def muc_service_info(iq: Element) -> Element:
    features = (INFO, ITEMS, ns.MUC)
    return _info(iq, {"category": "conference", "type": "text"}, features)


def account_info(iq: Element, features: tuple[str, ...]) -> Element:
    """§3.1 on a bare JID: the account, not the server (RFC 6120 §10.5.4); the account
    is also a personal eventing service (XEP-0163 §6: identity ``pubsub/pep``)."""
    pep = E(INFO, "identity", {"category": "pubsub", "type": "pep"})
    return _info(iq, {"category": "account", "type": "registered"}, features, [pep])


def items(iq: Element, *jids: str) -> Element:
    """§4.1: the items of an entity (none for an account)."""
    return iq_result(iq, E(ITEMS, "query", {}, *(E(ITEMS, "item", {"jid": j}) for j in jids)))


def services(
    server_features: tuple[str, ...],
    account_features: tuple[str, ...],
    server_extras: tuple[Callable[[Settings], Sequence[Element]], ...] = (),
) -> tuple[IqService, IqService]:
    """disco#info and disco#items, advertising what the other services declared
    (``server_extras``: their identities and forms for the server's info)."""

    def target(session: Session, iq: Element) -> tuple[JID | None, bool]:
        try:
            to = JID.parse(iq.get("to", "")) if iq.get("to") else None
        except JidError:
            to = None
        return to, to is not None and session.addressing.is_muc(to)

    async def info(session: Session, iq: Element) -> Element:
        if iq.get("type") != "get":
            return error_reply(iq, "service-unavailable")  # nothing to set
        to, muc_service = target(session, iq)
        if muc_service:
            return muc_service_info(iq)
        if to is not None and to.local:
            return account_info(iq, account_features)
        extras = [e for more in server_extras for e in more(session.core.settings)]
        node = iq[0].get("node")
        if node and node != caps_node(info_query(SERVER_IDENTITY, server_features, extras)):
            return server_info(iq, server_features)  # a node's info is the node's
        return server_info(iq, server_features, extras)  # XEP-0115 §6.2: node#ver is ours

    async def items_of(session: Session, iq: Element) -> Element:
        if iq.get("type") != "get":
            return error_reply(iq, "service-unavailable")
        to, muc_service = target(session, iq)
        if to is not None and muc_service:
            return await muc.disco_items(session, iq, to)
        if to is not None and to.local:
            return items(iq)  # an account has no items of its own
        return items(iq, session.addressing.muc_domain)

    return (
        IqService(INFO, info, server_features=(INFO,), account_features=(INFO,), for_accounts=True),
        IqService(
            ITEMS, items_of, server_features=(ITEMS,), account_features=(ITEMS,), for_accounts=True
        ),
    )
