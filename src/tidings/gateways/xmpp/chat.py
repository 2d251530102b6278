"""Inbound ``<message>`` -> core: send, edit, remove, typing, receipts and markers.

The sender is always the authenticated session, never the stanza's ``from``
(connectycube-wire §11). The dialog comes from the room JID, else from
``extraParams/dialog_id``, else it is the private dialog with the addressee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import DomainError, InvalidInput
from tidings.domain.ids import is_valid_id
from tidings.gateways.xmpp import mapping
from tidings.gateways.xmpp import namespaces as ns
from tidings.gateways.xmpp.ext_connectycube.stanza import read_extra
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.muc.handler import room_dialog
from tidings.gateways.xmpp.stanza import E, child, text_of
from tidings.gateways.xmpp.xep_0085.stanza import typing_state
from tidings.gateways.xmpp.xep_0184.stanza import receipt_for, requests_receipt
from tidings.gateways.xmpp.xep_0280.stanza import is_private, sent_carbon
from tidings.gateways.xmpp.xep_0333.stanza import marker_of

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
    if requests_receipt(stanza):
        session.wants_receipts = True
    try:
        await _handle(session, stanza, to, extra)
    except DomainError as exc:
        if child(stanza, ns.CLIENT, "body") is None and extra.attachments == []:
            return  # typing or markers that failed: nothing to bounce
        bounce = E(
            ns.CLIENT,
            "message",
            {"type": "error", "id": stanza.get("id"), "from": to.bare, "to": str(session.jid)},
            E(ns.CLIENT, "body", text=text_of(stanza, ns.CLIENT, "body") or None),
            mapping.error_for(
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
    typing = typing_state(stanza)
    if not (
        marked or receipt or body or extra.attachments or remove is not None or typing is not None
    ):
        return
    dialog_id = await resolve_dialog(session, to, extra.dialog_id)
    if marked is not None:
        meaning, message_id = marked
        if is_valid_id(message_id):
            if meaning == "read":
                await core.receipts.mark_read(actor, dialog_id, message_id)
            else:
                await core.receipts.mark_delivered(actor, dialog_id, message_id)
        return
    if receipt is not None:
        if is_valid_id(receipt):
            await core.receipts.mark_delivered(actor, dialog_id, receipt)
        return
    if replace is not None and body is not None:
        await core.messages.edit_message(actor, dialog_id, replace.get("id", ""), body)
        return
    if remove is not None:
        await core.messages.delete_message(
            actor, dialog_id, remove.get("id", ""), for_everyone=True
        )
        return
    if body or extra.attachments:
        stanza_id = stanza.get("id")
        message = await core.messages.send_message(
            actor,
            dialog_id,
            body or "",
            message_id=stanza_id if stanza_id and is_valid_id(stanza_id) else None,
            attachments=[_attachment(a) for a in extra.attachments] or None,
            params=extra.params or None,
            self_destroy_after=extra.destroy_after or _destroy_after(stanza),
        )
        _echo(session, stanza, to, message.to_dict())
        return
    if typing is not None:
        await core.typing.set_typing(actor, dialog_id, typing)


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
        room = session.addressing.room(session.app_id, message["dialog_id"], session.user_id)
        for target in others:
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
        {"from": str(session.jid), "to": to.bare, "type": "chat", "id": message["id"]},
        *list(stanza),
    )
    for target in others:
        if target is not session and target.carbons:  # type: ignore[attr-defined]
            target.send(sent_carbon(session.jid.bare, str(target.jid), original))  # type: ignore[attr-defined]
