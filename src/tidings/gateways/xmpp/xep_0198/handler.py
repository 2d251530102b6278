"""XEP-0198 nonzas of a bound session: ``<enable/>``, ``<r/>``, ``<a/>``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.stanza import E, split
from tidings.gateways.xmpp.xep_0198.stanza import NS, StreamManagement

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

#: How long a detached session waits for ``<resume/>``.
RESUME_SECONDS = 300


def handle(session: Session, element: Element) -> None:
    _ns, local = split(element.tag)
    if local == "enable":
        if session.sm is not None:
            session.write_nonza(
                E(NS, "failed", {}, E("urn:ietf:params:xml:ns:xmpp-stanzas", "unexpected-request"))
            )
            return
        resumable = element.get("resume") in ("true", "1")
        session.sm = StreamManagement(resumable)
        if resumable:
            session.gateway.sessions_by_sm_id[session.sm.id] = session
        session.write_nonza(session.sm.enabled_element(RESUME_SECONDS))
    elif local == "r" and session.sm is not None:
        session.write_nonza(session.sm.ack_element())
    elif local == "a" and session.sm is not None:
        try:
            h = int(element.get("h", ""))
        except ValueError:
            session.close_with_error("undefined-condition", "bad h")
            return
        if session.sm.acked(h):
            session.acked(h)  # the messages it covers are delivered
