"""The room configuration form (XEP-0045 §10.1-§10.2), owners only.

A room is a dialog, so the form describes the dialog: its name and description
can be changed; persistence, membership and logging follow the dialog's type and
are shown as fixed. A room is never locked: an instant room (an empty submit,
§10.1.2) and a configured one (§10.1.3) are both usable from the first join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.models import Dialog
from tidings.gateways.xmpp.muc import stanza as st
from tidings.gateways.xmpp.stanza import E, child, error_reply, iq_result, split

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

CONFIG = "http://jabber.org/protocol/muc#roomconfig"
#: Form fields that change the dialog, and the dialog field each one sets.
_WRITABLE = {"muc#roomconfig_roomname": "name", "muc#roomconfig_roomdesc": "description"}


def _field(var: str, type_: str, label: str, value: str | None) -> Element:
    return E(
        st.DATA,
        "field",
        {"var": var, "type": type_, "label": label},
        E(st.DATA, "value", text=value) if value is not None else None,
    )


def form(dialog: Dialog) -> Element:
    """§15.5.3 muc#roomconfig: what can be set, and what the dialog's type fixes."""
    listed = "1" if dialog.type == "public" else "0"
    members_only = "0" if dialog.type == "public" else "1"
    return E(
        st.DATA,
        "x",
        {"type": "form"},
        E(st.DATA, "title", text=f"Configuration of {dialog.name or dialog.id}"),
        _field("FORM_TYPE", "hidden", "", CONFIG),
        _field("muc#roomconfig_roomname", "text-single", "Name", dialog.name or ""),
        _field("muc#roomconfig_roomdesc", "text-single", "Description", dialog.description or ""),
        _field("muc#roomconfig_persistentroom", "boolean", "Persistent (fixed)", "1"),
        _field("muc#roomconfig_membersonly", "boolean", "Members only (fixed)", members_only),
        _field("muc#roomconfig_publicroom", "boolean", "Listed (fixed)", listed),
        _field("muc#roomconfig_whois", "list-single", "Real JIDs visible to (fixed)", "anyone"),
        _field("muc#roomconfig_enablelogging", "boolean", "Archived (fixed)", "1"),
        _field("muc#roomconfig_passwordprotectedroom", "boolean", "Password (fixed)", "0"),
    )


async def handle(session: Session, iq: Element, dialog: Dialog) -> Element:
    if dialog.owner_id != session.user_id:
        return error_reply(iq, "forbidden", "only the owner configures the room")
    query = iq[0]
    if iq.get("type") == "get":
        return iq_result(iq, E(st.MUC_OWNER, "query", {}, form(dialog)))
    if child(query, st.MUC_OWNER, "destroy") is not None:
        return error_reply(iq, "feature-not-implemented", "delete the dialog instead")
    submitted = child(query, st.DATA, "x")
    if submitted is None:
        return error_reply(iq, "bad-request", "a data form is required")
    if submitted.get("type") == "cancel":
        return iq_result(iq)
    changes: dict[str, str] = {}
    for field in submitted:
        if split(field.tag) != (st.DATA, "field"):
            continue
        target = _WRITABLE.get(field.get("var") or "")
        value = field.findtext(f"{{{st.DATA}}}value")
        if target is not None and value is not None:
            if target == "name" and not value.strip():
                continue  # an empty name keeps the dialog's own (a group needs one)
            changes[target] = value
    if changes:
        await session.core.dialogs.update_dialog(
            session.actor,
            dialog.id,
            name=changes.get("name"),
            description=changes.get("description"),
        )
    return iq_result(iq)
