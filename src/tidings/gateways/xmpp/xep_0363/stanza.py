"""XEP-0363 elements: the slot request (§4), the slot (§4), its errors (§5) and the
XEP-0128 form that advertises the size limit (§3). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E

NS = "urn:xmpp:http:upload:0"
DATA_FORMS = "jabber:x:data"


class BadRequest(ValueError):
    """The request element lacks a field or has a malformed one."""


@dataclass(frozen=True, slots=True)
class SlotRequest:
    filename: str
    size: int
    content_type: str | None


def parse_request(request: Element) -> SlotRequest:
    """§4: ``filename`` and ``size`` are required, ``content-type`` is optional."""
    filename = request.get("filename") or ""
    size_text = (request.get("size") or "").strip()
    if not filename:
        raise BadRequest("the request needs a filename")
    if not size_text.isdigit() or len(size_text) > 18:
        raise BadRequest("size is the file's length in bytes")
    return SlotRequest(filename, int(size_text), request.get("content-type") or None)


def slot(put_url: str, get_url: str, headers: dict[str, str]) -> Element:
    """§4: the PUT URL with the headers the client must send, and the GET URL."""
    put = E(NS, "put", {"url": put_url})
    for name, value in headers.items():
        put.append(E(NS, "header", {"name": name}, text=value))
    return E(NS, "slot", {}, put, E(NS, "get", {"url": get_url}))


def file_too_large(max_bytes: int) -> Element:
    """§5: goes inside the ``<error>`` so clients can tell the limit."""
    return E(NS, "file-too-large", {}, E(NS, "max-file-size", text=str(max_bytes)))


def disco_extras(max_bytes: int) -> tuple[Element, ...]:
    """§3: the ``store/file`` identity (how clients such as slixmpp find the service)
    and the XEP-0128 form with ``max-file-size``."""
    info = "http://jabber.org/protocol/disco#info"
    form = E(
        DATA_FORMS,
        "x",
        {"type": "result"},
        E(
            DATA_FORMS,
            "field",
            {"var": "FORM_TYPE", "type": "hidden"},
            E(DATA_FORMS, "value", text=NS),
        ),
        E(
            DATA_FORMS,
            "field",
            {"var": "max-file-size"},
            E(DATA_FORMS, "value", text=str(max_bytes)),
        ),
    )
    return (
        E(info, "identity", {"category": "store", "type": "file", "name": "HTTP File Upload"}),
        form,
    )
