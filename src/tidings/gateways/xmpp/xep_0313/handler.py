"""XEP-0313 (v2, ``urn:xmpp:mam:2``): queries, archive metadata and preferences.

A query (§4) is answered with one ``<message>`` per archived message, each
wrapping the original in ``<result><forwarded>`` (§5.1.1: the wrapper comes from
the archive's JID: the user's bare JID, or the room's), then the iq result with
``<fin>`` and the RSM ``first``/``last`` of the page (§4.3). Archived messages
read as they were sent: the user's own from their bare JID to the peer, the
peer's to the user; a room's from ``room/nick`` as ``groupchat``.

``<metadata/>`` (§6) names the archive's first and last message. ``<prefs/>``
(XEP-0441, same namespace) is read-only here: everything is archived, so
``default='always'``; a ``set`` is answered with the preferences in force. Anything else in the
namespace is ``feature-not-implemented``, never a closed stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc.handler import room_dialog
from tidings.gateways.xmpp.stanza import E, error_reply, iq_result, split
from tidings.gateways.xmpp.xep_0313 import archive, form
from tidings.gateways.xmpp.xep_0313.form import NS, RSM, QueryError

if TYPE_CHECKING:
    from tidings.domain.models import Message
    from tidings.gateways.xmpp.session import Session

FORWARD = "urn:xmpp:forward:0"


@dataclass
class Archive:
    """Whose archive a query reads: its JID, its dialogs and, for 1-1 ones, the peer."""

    jid: JID
    dialog_ids: list[str]
    room: bool = False
    peers: dict[str, JID] = field(default_factory=dict)


async def handle(session: Session, iq: Element) -> Element:
    if len(iq) != 1:
        return error_reply(iq, "bad-request", "an iq has exactly one payload")
    local = split(iq[0].tag)[1]
    kind = iq.get("type")
    try:
        if local == "query" and kind == "get":
            return iq_result(iq, form.fields_form())
        if local == "query":
            query = form.read(iq[0])
            found = await _archive(session, iq, query.with_)
            return await _answer(session, iq, found, query)
        if local == "metadata" and kind == "get":
            found = await _archive(session, iq, None)
            return await _metadata(session, iq, found)
        if local == "prefs":
            prefs = E(NS, "prefs", {"default": "always"}, E(NS, "always"), E(NS, "never"))
            return iq_result(iq, prefs)
    except QueryError as exc:
        return error_reply(iq, exc.condition, exc.text)
    return error_reply(iq, "feature-not-implemented", f"no <{local}/> in {NS}")


#: XEP-0313 §7: the archive is queried at the account's bare JID, so both advertise it.
SERVICE = IqService(NS, handle, server_features=(NS,), account_features=(NS,))


async def _archive(session: Session, iq: Element, with_: str | None) -> Archive:
    """The archive the iq is addressed to, narrowed to ``with`` when given."""
    own = JID(session.jid.local, session.jid.domain)
    try:
        to = JID.parse(iq.get("to") or own.bare)
        peer = JID.parse(with_) if with_ else None
    except JidError as exc:
        raise QueryError("bad-request", "a malformed JID") from exc
    if session.addressing.is_muc(to):
        dialog_id = room_dialog(session, to)
        if dialog_id is None or to.resource:
            raise QueryError("item-not-found", "no such room archive")
        if peer is not None:
            raise QueryError("feature-not-implemented", "'with' is not filtered in a room")
        return Archive(JID(to.local, to.domain), [dialog_id], room=True)
    if to.bare != own.bare:
        raise QueryError("service-unavailable", "only your own archive or a room's")
    if peer is not None and session.addressing.is_muc(peer):
        dialog_id = room_dialog(session, peer)
        if dialog_id is None:
            return Archive(own, [])
        return Archive(JID(peer.local, peer.domain), [dialog_id], room=True)
    want: int | None = None
    if peer is not None:
        try:
            want, app_id = parse_user_local(peer.local)
        except JidError:
            return Archive(own, [])
        if app_id != session.app_id or not session.addressing.is_local(peer):
            return Archive(own, [])
    found = Archive(own, [])
    for dialog in await archive.private_dialogs(session.core, session.actor):
        others = [u for u in dialog.occupant_ids if u != session.user_id]
        if not others or (want is not None and others[0] != want):
            continue
        found.dialog_ids.append(dialog.id)
        found.peers[dialog.id] = session.addressing.user(others[0], session.app_id)
    return found


async def _answer(session: Session, iq: Element, found: Archive, query: form.Query) -> Element:
    page = await archive.page(session.core, session.actor, found.dialog_ids, query)
    for message in page.messages:
        session.send(_result(session, found, message, query.query_id))
    fin_set = E(RSM, "set")
    if page.messages:
        fin_set.append(E(RSM, "first", text=page.messages[0].id))
        fin_set.append(E(RSM, "last", text=page.messages[-1].id))
    fin = E(NS, "fin", {"queryid": query.query_id}, fin_set)
    if page.complete:
        fin.set("complete", "true")
    return iq_result(iq, fin)


def _result(session: Session, found: Archive, message: Message, query_id: str | None) -> Element:
    """§5.1.1: one archived message, forwarded from the archive's JID."""
    me = JID(session.jid.local, session.jid.domain)
    if found.room:
        sender = session.addressing.room(session.app_id, message.dialog_id, message.sender_id)
        kind, to = "groupchat", session.jid
    else:
        peer = found.peers[message.dialog_id]
        kind = "chat"
        sender, to = (me, peer) if message.sender_id == session.user_id else (peer, me)
    archive_jid = found.jid.bare
    inner = mapping.message_stanza(
        message.to_dict(), type_=kind, sender=sender, to=to, archive=archive_jid
    )
    return E(
        ns.CLIENT,
        "message",
        {"to": str(session.jid), "from": archive_jid},
        E(
            NS,
            "result",
            {"queryid": query_id, "id": message.id},
            E(FORWARD, "forwarded", {}, mapping.delay(message.created_ms, archive_jid), inner),
        ),
    )


async def _metadata(session: Session, iq: Element, found: Archive) -> Element:
    """§6: the first and last message of the archive; empty for an empty one."""
    ends = await archive.bounds(session.core, session.actor, found.dialog_ids)
    metadata = E(NS, "metadata")
    if ends is not None:
        for name, message in zip(("start", "end"), ends, strict=True):
            stamp = mapping.stamp(message.created_ms)
            metadata.append(E(NS, name, {"id": message.id, "timestamp": stamp}))
    return iq_result(iq, metadata)
