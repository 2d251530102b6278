"""XEP-0049 private XML storage (``jabber:iq:private``) -> ``core.pep``.

Each namespace stored is a private PEP node of that name (XEP-0223 §3: access
``whitelist``, persistent) holding one item, ``current``; so data stored here and data
a client stores with XEP-0223 are the same. XEP-0048 bookmarks (``storage:bookmarks``)
are the exception: they are the XEP-0402 items (one per room), split on set and joined
on get (XEP-0402 §3 ``#compat``), so a client of either XEP sees the other's rooms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.core.pep import NodeOptions
from tidings.domain.errors import DomainError, NotFound
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result, serialize, split
from tidings.gateways.xmpp.xep_0163.handler import NODE_DEFAULTS, error_for, owner_of
from tidings.gateways.xmpp.xep_0163.payloads import parse_payload
from tidings.gateways.xmpp.xep_0402 import stanza as bookmarks

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

NS = "jabber:iq:private"
#: XEP-0223 §3: the node is the owner's alone.
PRIVATE = NodeOptions(access_model="whitelist")
ITEM = "current"


async def handle(session: Session, iq: Element) -> Element:
    if owner_of(session, iq) != session.user_id:
        return error_reply(iq, "forbidden", "only your own private storage")  # §3
    query = child(iq, NS, "query")
    if query is None or len(query) != 1:
        return error_reply(iq, "bad-request", "a private <query/> holds one element")
    element = query[0]
    namespace = split(element.tag)[0]
    if not namespace or namespace.startswith("jabber:") or namespace == NS:
        return error_reply(iq, "not-acceptable", "that namespace is not private data")  # §3
    try:
        if iq.get("type") == "get":
            stored = await _get(session, namespace)
            found = stored if stored is not None else E(namespace, split(element.tag)[1])
            return iq_result(iq, E(NS, "query", {}, found), from_=None)
        if iq.get("type") == "set":
            await _set(session, namespace, element)
            return iq_result(iq, from_=None)
    except DomainError as exc:
        return error_for(iq, exc)
    return error_reply(iq, "bad-request", "get or set")


async def _get(session: Session, namespace: str) -> Element | None:
    pep = session.core.pep
    me = session.user_id
    if namespace == bookmarks.LEGACY:
        return bookmarks.to_storage(await _bookmarks(session))
    try:
        items = await pep.items(session.actor, me, namespace, item_ids=[ITEM])
    except NotFound:
        return None
    return parse_payload(items[-1].payload) if items else None


async def _set(session: Session, namespace: str, element: Element) -> None:
    pep = session.core.pep
    if namespace != bookmarks.LEGACY:
        await pep.publish(session.actor, namespace, ITEM, serialize(element), PRIVATE)
        return
    kept = {b.room: b for b in await _bookmarks(session)}
    wanted = bookmarks.from_storage(element)
    for bookmark in wanted:
        if kept.get(bookmark.room) != bookmark:
            payload = serialize(bookmarks.to_item(bookmark))
            await pep.publish(
                session.actor,
                bookmarks.NODE,
                bookmark.room,
                payload,
                None,
                NODE_DEFAULTS[bookmarks.NODE],
            )
    for room in kept.keys() - {b.room for b in wanted}:
        await pep.retract(session.actor, bookmarks.NODE, room, notify=True)


async def _bookmarks(session: Session) -> list[bookmarks.Bookmark]:
    """The XEP-0402 items that are bookmarks (anything else in the node is left alone)."""
    try:
        items = await session.core.pep.items(session.actor, session.user_id, bookmarks.NODE)
    except NotFound:
        return []
    found = (bookmarks.from_item(i.item_id, parse_payload(i.payload)) for i in items)
    return [b for b in found if b is not None]


#: On the server's disco too, where clients (poezio) look for bookmark storage; the
#: iq itself goes to the account (no ``to``), as XEP-0049 §2 has it.
SERVICE = IqService(NS, handle, server_features=(NS,), account_features=(NS,), for_accounts=True)
