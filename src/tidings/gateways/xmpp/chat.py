"""Inbound ``<message>`` -> core: send, edit, remove, typing, receipts and markers.

The sender is always the authenticated session, never the stanza's ``from``
(connectycube-wire §11). The dialog comes from the room JID, else from
``extraParams/dialog_id``, else it is the private dialog with the addressee.

A message is routed, not rebuilt (RFC 6120 §8.4): the client's ``id`` (else its
XEP-0359 ``origin-id``) stays the message's id on the wire — as the core's id
when it is one, else kept as the message's ``client_id`` — and its type and
extension elements are stored with it (:mod:`extended`). A message without a
body is stored and routed when it carries content (a XEP-0444 reaction, a
XEP-0424 retraction, XEP-0439 quick responses, an unknown element), so offline
recipients and the archive get it too; a bare chat state is relayed live and
never stored (XEP-0085 §5); receipts and markers move the core's state
(:mod:`xep_0184.handler`, :mod:`xep_0333.handler`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError, InvalidInput, TooLarge
from tidings.domain.ids import is_valid_id
from tidings.gateways.xmpp import extended, mapping, relay
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.ext_connectycube.stanza import read_extra
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc import invite as muc_invite
from tidings.gateways.xmpp.muc import occupants as muc_occupants
from tidings.gateways.xmpp.muc.handler import refuse_private_message, room_dialog
from tidings.gateways.xmpp.stanza import E, child, text_of
from tidings.gateways.xmpp.xep_0085.stanza import chat_state
from tidings.gateways.xmpp.xep_0184 import handler as receipts
from tidings.gateways.xmpp.xep_0184.stanza import receipt_for, requests_receipt
from tidings.gateways.xmpp.xep_0191 import stanza as blocking
from tidings.gateways.xmpp.xep_0280.stanza import is_private, sent_carbon
from tidings.gateways.xmpp.xep_0333 import handler as markers
from tidings.gateways.xmpp.xep_0333.stanza import marker_of
from tidings.gateways.xmpp.xep_0359.ids import Sent
from tidings.gateways.xmpp.xep_0359.stanza import origin_id

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def resolve_dialog(session: Session, to: JID, hinted: str | None) -> str:
    if session.addressing.is_muc(to):
        dialog_id = room_dialog(session, to)
        if dialog_id is None:
            raise InvalidInput("not a room of this app")
        return dialog_id
    if hinted and is_valid_id(hinted):
        return hinted
    try:
        other, app_id = parse_user_local(to.local)
    except JidError:
        raise InvalidInput("not a user JID of this server") from None
    if app_id != session.app_id or not session.addressing.is_local(to):
        raise InvalidInput("not a user of this app")
    known = session.private_dialogs.get(other)
    if known is None:
        dialog = await session.core.dialogs.create_dialog(
            session.actor, "private", occupant_ids=[other]
        )
        known = session.private_dialogs[other] = dialog.id
        session.dialog_types[dialog.id] = "private"
    return known


async def handle(session: Session, stanza: Element) -> None:
    kind = stanza.get("type", "normal")
    if kind == "error":
        return
    try:
        to = JID.parse(stanza.get("to", ""))
    except JidError:
        return
    extra = read_extra(stanza)
    if kind == "headline":
        await _system_message(session, stanza, to, extra)
        return
    if refuse_private_message(session, stanza, to):
        return  # XEP-0045 §7.5: never posted to the room
    if await muc_invite.handle(session, stanza, to):
        return  # XEP-0045 §7.8.2: an invitation, not a room message
    try:
        await _handle(session, stanza, to, extra)
    except DomainError as exc:
        if (
            child(stanza, ns.CLIENT, "body") is None
            and extra.attachments == []
            and not extended.has_content(stanza)
        ):
            return  # typing or markers that failed: nothing to bounce
        bounce = E(
            ns.CLIENT,
            "message",
            {"type": "error", "id": stanza.get("id"), "from": to.bare, "to": str(session.jid)},
            E(ns.CLIENT, "body", text=text_of(stanza, ns.CLIENT, "body") or None),
            blocking.blocked_error(exc.message)
            if exc.details.get("by_sender")  # XEP-0191 §3.3: the sender blocks them
            else mapping.error_for(
                exc.code if exc.code != "invalid_input" else "blocked", exc.status, exc.message
            ),
        )
        session.send(bounce)


async def _system_message(session: Session, stanza: Element, to: JID, extra) -> None:  # type: ignore[no-untyped-def]
    """connectycube-wire §10.8: relayed to the user's resources, never stored."""
    try:
        user_id, app_id = parse_user_local(to.local)
    except JidError:
        return  # only user JIDs, never rooms
    if app_id != session.app_id:
        return
    params = dict(extra.params)
    if extra.module:
        params["moduleIdentifier"] = extra.module
    body = text_of(stanza, ns.CLIENT, "body")
    if body:
        params["body"] = body
    try:
        await session.gateway.system.send_system_message(
            session.actor, user_id, params, message_id=stanza.get("id")
        )
    except DomainError:
        return


async def _handle(session: Session, stanza: Element, to: JID, extra) -> None:  # type: ignore[no-untyped-def]
    core, actor = session.core, session.actor
    marked = marker_of(stanza)
    receipt = receipt_for(stanza)
    body = text_of(stanza, ns.CLIENT, "body")
    replace = child(stanza, ns.CORRECT, "replace")
    remove = child(stanza, ns.DELETE, "remove")
    state = chat_state(stanza)
    payload = extended.has_content(stanza)
    if not (
        marked
        or receipt
        or body
        or extra.attachments
        or remove is not None
        or state is not None
        or payload
    ):
        return
    dialog_id = await resolve_dialog(session, to, extra.dialog_id)
    if marked is not None and not (body or payload):
        if not await markers.marked(session, dialog_id, *marked):
            await _route_unknown(session, stanza, to)
        return
    if receipt is not None and not (body or payload):
        if not await receipts.received(session, dialog_id, receipt):
            await _route_unknown(session, stanza, to)
        return
    if replace is not None and body is not None:
        target = await _core_id(session, dialog_id, replace.get("id", ""))
        await core.messages.edit_message(actor, dialog_id, target, body)
        return
    if remove is not None:
        target = await _core_id(session, dialog_id, remove.get("id", ""))
        await core.messages.delete_message(actor, dialog_id, target, for_everyone=True)
        return
    if body or extra.attachments or payload:
        await _send(session, stanza, to, extra, dialog_id, body or "")
        return
    if state is not None:  # XEP-0085 §5: the exact state travels with the typing flag
        await core.typing.set_typing(actor, dialog_id, state == "composing", chat_state=state)


async def _route_unknown(session: Session, stanza: Element, to: JID) -> None:
    """A marker or receipt for an id the core never stored: routed live, 1-1 only
    (a room's markers need a message the room knows)."""
    if session.addressing.is_muc(to) or not session.addressing.is_local(to):
        return
    try:
        user_id, app_id = parse_user_local(to.local)
    except JidError:
        return
    if app_id == session.app_id:
        await relay.send(session, user_id, stanza)


async def _core_id(session: Session, dialog_id: str, wire_id: str) -> str:
    """The core's id of the message a client names by the id it saw."""
    found = await session.core.messages.id_for_client_id(session.actor, dialog_id, wire_id)
    return found or wire_id  # unknown: the core answers message_not_found


async def _send(  # type: ignore[no-untyped-def]
    session: Session, stanza: Element, to: JID, extra, dialog_id: str, body: str
) -> None:
    """Store the message under the client's id, with what it carries beyond the body."""
    wire_id = stanza.get("id") or origin_id(stanza)
    core_id = wire_id if wire_id and is_valid_id(wire_id) else None
    client_id = wire_id if wire_id and core_id is None else None
    sdk = child(stanza, ns.CLIENT, "extraParams") is not None
    extensions = extended.keep(stanza, sdk=sdk, resource=session.jid.resource)
    if extended.too_large(extensions):
        raise TooLarge(f"extension elements are at most {extended.MAX_BYTES} bytes")
    message = await session.core.messages.send_message(
        session.actor,
        dialog_id,
        body,
        message_id=core_id,
        attachments=[_attachment(a) for a in extra.attachments] or None,
        params=extra.params or None,
        self_destroy_after=extra.destroy_after or _destroy_after(stanza),
        client_id=client_id,
        extensions=extensions,
    )
    group = session.addressing.is_muc(to)
    session.gateway.sent_ids.remember(
        message.id,
        Sent(
            sender_id=session.user_id,
            client_id=client_id,
            receipt_requested=requests_receipt(stanza),
            standard=not sdk,
            group=group,
        ),
    )
    _echo(session, stanza, to, message.to_dict())


def _attachment(attrs: dict[str, str]) -> dict[str, str]:
    """A file attachment names its blob by ``uid`` (older clients: ``id``); one that
    carries ``data`` instead (the seed's contact attachment) names no file."""
    ref = attrs.get("uid") or attrs.get("file_id") or ("" if "data" in attrs else attrs.get("id"))
    return {**attrs, "file_id": ref} if ref else dict(attrs)


def _destroy_after(stanza: Element) -> int | None:
    """The documented ``<destroy after="N"/>`` element of standard clients."""
    found = child(stanza, ns.DESTROY, "destroy")
    after = (found.get("after") or "").strip() if found is not None else ""
    return int(after) if after.isdigit() and int(after) > 0 else None


def _echo(session: Session, stanza: Element, to: JID, message: dict) -> None:  # type: ignore[type-arg]
    """Carbons of a 1-1 message for the user's other resources; a room reflects to all."""
    from tidings.gateways.xmpp import outbound  # noqa: F401 - keeps the import graph obvious

    others = [s for s in session.gateway.registry.of_user(session.app_id, session.user_id)]
    if session.addressing.is_muc(to):
        for target in others:
            if not muc_occupants.reflected_to(target, message["dialog_id"]):  # type: ignore[arg-type]
                continue  # XEP-0045 §7.4: to the author's resources in the room
            room = muc_occupants.occupant_jid(target, message["dialog_id"], session.user_id)  # type: ignore[arg-type]
            target.send(  # type: ignore[attr-defined]
                mapping.message_stanza(
                    message,
                    type_="groupchat",
                    sender=room,
                    to=target.jid,  # type: ignore[attr-defined]
                    archive=JID(room.local, room.domain).bare,
                )
            )
        return
    if is_private(stanza):
        return
    original = E(
        ns.CLIENT,
        "message",
        {
            "from": str(session.jid),
            "to": to.bare,
            "type": stanza.get("type", "chat"),
            "id": mapping.wire_id(message),
        },
        *list(stanza),
    )
    for target in others:
        if target is not session and target.carbons:  # type: ignore[attr-defined]
            target.send(sent_carbon(session.jid.bare, str(target.jid), original))  # type: ignore[attr-defined]
