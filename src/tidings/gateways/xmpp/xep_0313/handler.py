"""XEP-0313 §4: a query returns ``<result>``-wrapped forwarded messages, then ``<fin/>``.

The archive of a user JID is their private dialog with that user (``with``), or
of a room JID the group dialog; result ids are message ids (XEP-0359), so RSM
``<after>``/``<before>`` map onto history bounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.models import HistoryFilter
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc.handler import room_dialog
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

NS = "urn:xmpp:mam:2"
DATA = "jabber:x:data"
RSM = "http://jabber.org/protocol/rsm"
FORWARD = "urn:xmpp:forward:0"


def _form_field(query: Element, var: str) -> str | None:
    form = child(query, DATA, "x")
    if form is None:
        return None
    for field in form.findall(f"{{{DATA}}}field"):
        if field.get("var") == var:
            return field.findtext(f"{{{DATA}}}value")
    return None


async def handle(session: Session, iq: Element) -> Element:
    query = child(iq, NS, "query")
    assert query is not None
    if iq.get("type") == "get":
        return iq_result(iq, E(NS, "query"))
    to = iq.get("to")
    dialog_id: str | None = None
    try:
        if to and JID.parse(to).domain == session.addressing.muc_domain:
            dialog_id = room_dialog(session, JID.parse(to))
        else:
            with_ = _form_field(query, "with")
            if with_:
                other, app_id = parse_user_local(JID.parse(with_).local)
                if app_id == session.app_id:
                    dialog = await session.core.dialogs.create_dialog(
                        session.actor, "private", occupant_ids=[other]
                    )
                    dialog_id = dialog.id
    except JidError:
        dialog_id = None
    if dialog_id is None:
        return error_reply(iq, "bad-request", "give a room JID or a 'with' user JID")
    rsm = child(query, RSM, "set")
    limit = 50
    after = before = None
    descending = False
    if rsm is not None:
        if (text := rsm.findtext(f"{{{RSM}}}max")) and text.isdigit():
            limit = max(1, min(100, int(text)))
        after = rsm.findtext(f"{{{RSM}}}after") or None
        before_el = child(rsm, RSM, "before")
        if before_el is not None:
            descending = True
            before = before_el.text or None
    page = await session.core.messages.history(
        session.actor,
        dialog_id,
        HistoryFilter(limit=limit, descending=descending),
        after_id=after,
        before_id=before,
    )
    messages = sorted(page.messages, key=lambda m: m.seq or 0)
    query_id = query.get("queryid")
    for message in messages:
        sender_type = "chat"
        from_ = session.addressing.user(message.sender_id, session.app_id)
        if to and room_dialog(session, JID.parse(to)):
            from_ = session.addressing.room(session.app_id, dialog_id, message.sender_id)
            sender_type = "groupchat"
        inner = mapping.message_stanza(
            message.to_dict(),
            type_=sender_type,
            sender=from_,
            to=session.jid,
            archive=session.jid.bare,
        )
        session.send(
            E(
                "jabber:client",
                "message",
                {"to": str(session.jid), "from": session.jid.bare},
                E(
                    NS,
                    "result",
                    {"queryid": query_id, "id": message.id},
                    E(
                        FORWARD,
                        "forwarded",
                        {},
                        mapping.delay(message.created_ms, session.jid.bare),
                        inner,
                    ),
                ),
            )
        )
    fin_set = E(RSM, "set")
    if messages:
        fin_set.append(E(RSM, "first", text=messages[0].id))
        fin_set.append(E(RSM, "last", text=messages[-1].id))
    complete = "false" if page.has_more else "true"
    return iq_result(iq, E(NS, "fin", {"complete": complete}, fin_set))
