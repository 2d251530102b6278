"""What the peer did, as :class:`~tidings.gateways.xmpp.protocol.XmppStream` reports it.

Wire events only: they never go on the bus (domain events live in ``domain/events.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.sasl import PlainCredentials
from tidings.gateways.xmpp.scram import ClientFirst


@dataclass(frozen=True, slots=True)
class StreamOpened:
    to: str
    from_: str


@dataclass(frozen=True, slots=True)
class StartTlsRequested:
    """Answered with ``<proceed/>``; the transport now upgrades, then calls ``tls_established``."""


@dataclass(frozen=True, slots=True)
class AuthRequested:
    """PLAIN's credentials, or a SCRAM client-first-message to answer with
    :meth:`~protocol.XmppStream.sasl_challenge` (or ``auth_failed``)."""

    mechanism: str
    credentials: PlainCredentials | ClientFirst


@dataclass(frozen=True, slots=True)
class SaslResponse:
    """The client's ``<response/>`` to our challenge (SCRAM's client-final-message)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class BindRequested:
    iq_id: str
    resource: str


@dataclass(frozen=True, slots=True)
class ResumeRequested:
    """XEP-0198 §5: ``previd`` names the detached session, ``h`` what the client got."""

    previd: str
    h: int


@dataclass(frozen=True, slots=True)
class StanzaReceived:
    """A ``<message>``, ``<presence>`` or ``<iq>`` from a bound client."""

    element: Element


@dataclass(frozen=True, slots=True)
class NonzaReceived:
    """A stream-level element for a XEP such as 0198 (``<enable/>``, ``<r/>``, ``<a/>``)."""

    element: Element


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The stream ended: by the peer (``error`` empty) or by a stream error we sent."""

    error: str = ""


Event = (
    StreamOpened
    | StartTlsRequested
    | AuthRequested
    | SaslResponse
    | BindRequested
    | ResumeRequested
    | StanzaReceived
    | NonzaReceived
    | StreamClosed
)
