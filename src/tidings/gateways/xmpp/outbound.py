"""Domain events from the bus -> stanzas for one session (connectycube-wire §10).

Each event becomes zero or more stanzas addressed to the session's full JID. The
dialog's type (1-1 or room) is looked up once per session and cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from tidings.domain import events as ev
from tidings.domain.errors import DomainError
from tidings.domain.events import SystemMessageSent
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.ext_connectycube.stanza import write_extra
from tidings.gateways.xmpp.extended import restore
from tidings.gateways.xmpp.jid import JID
from tidings.gateways.xmpp.muc import occupants as muc_occupants
from tidings.gateways.xmpp.presence import handler as presence_handler
from tidings.gateways.xmpp.roster import handler as roster_handler
from tidings.gateways.xmpp.stanza import E
from tidings.gateways.xmpp.xep_0085.stanza import state_element
from tidings.gateways.xmpp.xep_0163 import notify as pep_notify
from tidings.gateways.xmpp.xep_0184 import handler as receipts
from tidings.gateways.xmpp.xep_0191 import handler as blocking
from tidings.gateways.xmpp.xep_0333 import handler as markers
from tidings.gateways.xmpp.xep_0359.ids import Sent

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def dialog_type(session: Session, dialog_id: str) -> str:
    """The dialog's type, looked up once per session and cached."""
    known = session.dialog_types.get(dialog_id)
    if known is None:
        known = (await session.core.dialogs.get_dialog(session.actor, dialog_id)).type
        session.dialog_types[dialog_id] = known
    return known


def lookup_needed(session: Session, event: Any) -> str | None:
    """The dialog whose type :func:`stanzas_for` needs and the session does not know yet.

    Events are turned into stanzas synchronously (a 1,000-member fan-out is one loop,
    not 1,000 tasks); the one thing that may need the database, a dialog's type, is
    fetched beforehand by the caller when this says so.
    """
    if isinstance(event, _NEEDS_TYPE):
        dialog_id = event.dialog_id
        if dialog_id not in session.dialog_types:
            return str(dialog_id)
    if (
        isinstance(event, ev.MessagesDelivered | ev.MessagesRead)
        and event.user_id != session.user_id
        and session.gateway.sent_ids.get(event.message_id) is None
    ):
        return str(event.dialog_id)
    return None


async def look_up(session: Session, event: Any) -> None:
    """Read what :func:`lookup_needed` said is missing (DomainError: the dialog is gone)."""
    if isinstance(event, ev.MessagesDelivered | ev.MessagesRead):
        await recall_sent(session, event.dialog_id, event.message_id)
    else:
        await dialog_type(session, event.dialog_id)


async def recall_sent(session: Session, dialog_id: str, message_id: str) -> None:
    """What the author's client knows of a message this node did not see sent: its id,
    whether it asked for a receipt, whether a standard client wrote it (XEP-0359)."""
    try:
        message = await session.core.messages.get_message(session.actor, dialog_id, message_id)
        group = await dialog_type(session, dialog_id) != "private"
    except DomainError:
        return  # hidden or gone: the markers name the core's id
    kept = restore(message.extensions)
    session.gateway.sent_ids.remember(
        message.id,
        Sent(
            sender_id=message.sender_id,
            client_id=message.client_id,
            receipt_requested=kept is not None and kept.requests_receipt(),
            standard=kept is not None and kept.standard,
            group=group,
        ),
    )


def origin(session: Session, dialog_id: str, user_id: int) -> tuple[JID, str]:
    """Who a stanza about ``dialog_id`` comes from, and its message type."""
    if session.dialog_types[dialog_id] == "private":
        return session.addressing.user(user_id, session.app_id), "chat"
    return muc_occupants.occupant_jid(session, dialog_id, user_id), "groupchat"  # XEP-0045 nick


def message_for(session: Session, message: dict[str, Any], *, delayed: bool) -> Element:
    """A stored message as a stanza for this session (its dialog's type must be known)."""
    sender, type_ = origin(session, message["dialog_id"], message["sender_id"])
    archive = session.jid.bare if type_ == "chat" else JID(sender.local, sender.domain).bare
    return mapping.message_stanza(
        message, type_=type_, sender=sender, to=session.jid, archive=archive, delayed=delayed
    )


def stanzas_for(session: Session, event: Any) -> list[Element]:
    """The stanzas ``event`` means for this session (call :func:`lookup_needed` first)."""
    me = session.user_id
    if isinstance(event, ev.MessageCreated):
        # The session writes these itself: it tracks their confirmation (session.py).
        if event.message["sender_id"] == me:
            return []
        return [message_for(session, event.message, delayed=False)]
    if isinstance(event, ev.MessageUpdated):
        msg = event.message
        sender, type_ = origin(session, event.dialog_id, msg["sender_id"])
        return [
            E(
                ns.CLIENT,
                "message",
                {"type": type_, "from": str(sender), "to": str(session.jid), "id": msg["id"] + "e"},
                E(ns.CLIENT, "body", text=msg.get("body") or ""),
                E(ns.CORRECT, "replace", {"id": mapping.wire_id(msg), "last": "true"}),
                write_extra(dialog_id=event.dialog_id, params=msg.get("params") or {}),
            )
        ]
    if isinstance(event, ev.MessageDeleted):
        if not event.for_everyone or event.by_user_id == me:
            return []
        sender, type_ = origin(session, event.dialog_id, event.by_user_id)
        return [
            E(
                ns.CLIENT,
                "message",
                {"type": type_, "from": str(sender), "to": str(session.jid)},
                E(ns.DELETE, "remove", {"id": event.message_id}),
                write_extra(dialog_id=event.dialog_id),
            )
        ]
    if isinstance(event, ev.MessagesDelivered | ev.MessagesRead):
        if event.user_id == me:
            return []
        out = [markers.marker_for_event(session, event)]
        if isinstance(event, ev.MessagesDelivered):
            answer = receipts.receipt_for_event(session, event)
            if answer is not None:
                out.append(answer)
        return out
    if isinstance(event, ev.TypingChanged):
        if event.user_id == me:
            return []
        sender, type_ = origin(session, event.dialog_id, event.user_id)
        return [
            E(
                ns.CLIENT,
                "message",
                {"type": type_, "from": str(sender), "to": str(session.jid)},
                state_element(event.typing, event.chat_state),
                write_extra(dialog_id=event.dialog_id),
            )
        ]
    if isinstance(event, ev.ResourcePresenceChanged):  # RFC 6121 §4, per resource
        return presence_handler.stanzas_for(session, event)
    if isinstance(event, SystemMessageSent):
        return [system_message(session, event)]
    if isinstance(event, ev.ContactChanged):  # RFC 6121 §2-3
        return roster_handler.stanzas_for(session, event)
    if isinstance(event, ev.BlocksChanged):  # XEP-0191 §3.3-§3.5 pushes
        return blocking.pushes_for(session, event)
    if isinstance(event, ev.PepChanged):  # XEP-0163 §4.3
        return pep_notify.stanzas_for(session, event)
    return []


#: Events whose stanzas depend on the dialog's type (chat or groupchat addressing).
_NEEDS_TYPE = (ev.MessageCreated, ev.MessageUpdated, ev.MessageDeleted, ev.TypingChanged)


def system_message(session: Session, event: SystemMessageSent) -> Element:
    """connectycube-wire §10.8: a ``headline`` stamped with the sender's JID, never stored."""
    params = dict(event.params)
    module = str(params.pop("moduleIdentifier", "SystemNotifications"))
    body = params.pop("body", None)
    extra = write_extra(dialog_id=None, params=params)
    extra.insert(0, E(ns.CLIENT, "moduleIdentifier", text=module))
    return E(
        ns.CLIENT,
        "message",
        {
            "type": "headline",
            "id": event.message_id,
            "from": str(session.addressing.user(event.sender_id, session.app_id)),
            "to": str(session.jid),
        },
        E(ns.CLIENT, "body", text=str(body)) if body else None,
        extra,
    )
