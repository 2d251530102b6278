"""``<extraParams xmlns="jabber:client">`` both ways (connectycube-wire §10.2); pure.

Scalars are child text, objects nest, and every attachment is an ``<attachment>``
whose attributes are its properties. Keys the protocol itself uses
(``save_to_history``, ``dialog_id``, ``date_sent``, ``moduleIdentifier``,
``destroy_after``) are kept apart from the custom parameters stored with the message.

``destroy_after`` (seconds) makes a self-destroying message: the JS SDK has no
field for the seed's ``destroyAfterInterval``, so an app puts it in the
``extension`` object, which the SDK sends as ``<destroy_after>10</destroy_after>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, child, split

NS = "jabber:client"
RESERVED = (
    "save_to_history",
    "dialog_id",
    "date_sent",
    "moduleIdentifier",
    "markable",
    "destroy_after",
)


@dataclass(slots=True)
class ExtraParams:
    dialog_id: str | None = None
    save_to_history: bool = False
    date_sent: str | None = None
    module: str | None = None
    destroy_after: int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    present: bool = False


def _value(element: Element) -> Any:
    if len(element):
        return {split(c.tag)[1]: _value(c) for c in element if len(c) or c.text}
    return element.text or ""


def read_extra(message: Element) -> ExtraParams:
    extra = ExtraParams()
    found = child(message, NS, "extraParams")
    if found is None:
        return extra
    extra.present = True
    for element in found:
        key = split(element.tag)[1]
        if key == "attachment":
            extra.attachments.append(dict(element.attrib))
        elif key == "dialog_id":
            extra.dialog_id = (element.text or "").strip() or None
        elif key == "save_to_history":
            extra.save_to_history = (element.text or "").strip() in ("1", "true")
        elif key == "date_sent":
            extra.date_sent = (element.text or "").strip() or None
        elif key == "moduleIdentifier":
            extra.module = (element.text or "").strip() or None
        elif key == "destroy_after":
            extra.destroy_after = _seconds(element.text)
        elif key in RESERVED:
            continue
        elif len(element) or element.text:
            extra.params[key] = _value(element)
    return extra


def _seconds(text: str | None) -> int | None:
    """A positive whole number of seconds, else None (the core checks the range)."""
    value = (text or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _elements(key: str, value: Any) -> Element | None:
    if isinstance(value, dict):
        return E(NS, key, {}, *(_elements(k, v) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return None
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    return E(NS, key, text=str(value))


def write_extra(
    *,
    dialog_id: str | None,
    date_sent: int | None = None,
    params: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    save_to_history: bool = False,
    destroy_after: int | None = None,
) -> Element:
    extra = E(NS, "extraParams")
    if save_to_history:
        extra.append(E(NS, "save_to_history", text="1"))
    if destroy_after:
        extra.append(E(NS, "destroy_after", text=str(destroy_after)))
    if dialog_id:
        extra.append(E(NS, "dialog_id", text=dialog_id))
    if date_sent is not None:
        extra.append(E(NS, "date_sent", text=str(date_sent)))
    for key, value in (params or {}).items():
        if key not in RESERVED and key.isidentifier():
            element = _elements(key, value)
            if element is not None:  # a list or null value has no element form
                extra.append(element)
    for item in attachments or ():
        attrs = {
            str(k): str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in item.items()
            if isinstance(v, str | int | float | bool) and str(k).isidentifier()
        }
        if "file_id" in attrs:
            attrs.setdefault("uid", attrs["file_id"])
        extra.append(E(NS, "attachment", attrs))
    return extra
