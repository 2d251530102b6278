"""What a XEP folder declares to answer iqs addressed to the server (RFC 6120 §8.2.3).

Each folder that serves a namespace exposes one :class:`IqService` (``SERVICE`` in
its ``handler`` module); :mod:`tidings.gateways.xmpp.services` lists them, and
``dispatch`` finds the handler of an iq by its payload's namespace. The same
declaration feeds XEP-0030: what a service advertises is what it answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session
    from tidings.settings import Settings

#: Answers one iq (the payload is in the handler's namespace); never raises for bad
#: input: a stanza error is a reply like any other.
IqHandler = Callable[["Session", Element], Awaitable[Element]]


@dataclass(frozen=True)
class IqService:
    """One namespace the server answers.

    ``server_features`` go in the server's disco#info, ``account_features`` in an
    account's (the features an account offers, XEP-0030 §3.1). With ``for_accounts``
    the server also answers the namespace on behalf of another user's bare JID
    (RFC 6120 §10.5.4); otherwise such an iq gets ``service-unavailable``.
    """

    namespace: str
    handle: IqHandler
    server_features: tuple[str, ...] = ()
    account_features: tuple[str, ...] = ()
    for_accounts: bool = False
    #: More for the server's disco#info: identities and XEP-0128 forms (XEP-0030 §3.1),
    #: made from the settings (XEP-0363's ``max-file-size``) and nothing else, so the
    #: server's XEP-0115 ``ver`` stays true for every session.
    server_info: Callable[[Settings], Sequence[Element]] | None = None
