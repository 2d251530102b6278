"""Every namespace the server answers, one entry per XEP folder.

To serve a new namespace, give its folder a ``handler.SERVICE`` (an
:class:`~tidings.gateways.xmpp.iq_service.IqService`) and add it to ``_FOLDERS``:
``dispatch`` routes to it and XEP-0030 advertises its features. Messages carry
features of their own (receipts, markers, chat states, stanza ids) that no iq
serves: they are listed in ``MESSAGE_FEATURES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.gateways.xmpp.ext_connectycube import handler as connectycube
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.roster import handler as roster
from tidings.gateways.xmpp.xep_0012 import handler as last_activity
from tidings.gateways.xmpp.xep_0016 import handler as privacy
from tidings.gateways.xmpp.xep_0030 import handler as disco
from tidings.gateways.xmpp.xep_0049 import handler as private_storage
from tidings.gateways.xmpp.xep_0054 import handler as vcard
from tidings.gateways.xmpp.xep_0115 import stanza as caps
from tidings.gateways.xmpp.xep_0163 import handler as pep
from tidings.gateways.xmpp.xep_0191 import handler as blocking
from tidings.gateways.xmpp.xep_0199 import handler as ping
from tidings.gateways.xmpp.xep_0280 import handler as carbons
from tidings.gateways.xmpp.xep_0313 import handler as mam
from tidings.gateways.xmpp.xep_0357 import handler as push
from tidings.gateways.xmpp.xep_0363 import handler as http_upload

if TYPE_CHECKING:
    from tidings.settings import Settings

#: Handled on ``<message>``: XEP-0359 stanza ids, XEP-0184 receipts, XEP-0333
#: markers, XEP-0085 chat states, XEP-0249 direct invitations (routed intact).
MESSAGE_FEATURES = (
    "urn:xmpp:sid:0",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
    "http://jabber.org/protocol/chatstates",
    "jabber:x:conference",
)

_FOLDERS: tuple[IqService, ...] = (
    ping.SERVICE,
    carbons.SERVICE,
    roster.SERVICE,
    privacy.SERVICE,
    blocking.SERVICE,
    vcard.SERVICE,
    last_activity.SERVICE,
    mam.SERVICE,
    connectycube.MOBILE,
    connectycube.STATUS_STREAMING,
    http_upload.SERVICE,
    pep.SERVICE,
    pep.OWNER,
    private_storage.SERVICE,
    push.SERVICE,
)


def _features(kind: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for service in _FOLDERS:
        seen.update(dict.fromkeys(getattr(service, kind)))
    return tuple(seen)


_DISCO = (disco.INFO, disco.ITEMS)
SERVER_FEATURES = (*MESSAGE_FEATURES, *_features("server_features"), *_DISCO)
ACCOUNT_FEATURES = (*_DISCO, *_features("account_features"))
#: Identities and forms services add to the server's disco#info (XEP-0128).
_SERVER_INFO = tuple(f.server_info for f in _FOLDERS if f.server_info is not None)

#: The services by namespace, XEP-0030's included (it advertises all the others).
BY_NAMESPACE: dict[str, IqService] = {
    s.namespace: s
    for s in (*_FOLDERS, *disco.services(SERVER_FEATURES, ACCOUNT_FEATURES, _SERVER_INFO))
}


def server_query(settings: Settings) -> Element:
    """The ``<query/>`` of the server's disco#info (XEP-0030 §3.1), as ``disco`` answers it."""
    extras = [e for more in _SERVER_INFO for e in more(settings)]
    return disco.info_query(disco.SERVER_IDENTITY, SERVER_FEATURES, extras)


def server_caps(settings: Settings) -> Element:
    """XEP-0115 §6.3: the ``<c/>`` stream feature, hashed from :func:`server_query`."""
    return caps.caps_element(caps.ver_of(server_query(settings)))
