"""XEP-0357 iqs -> the device registry every gateway pushes through.

tidings has no server-to-server links, so it cannot publish to an arbitrary app
server's JID (§7). It serves its own push component instead
(``TIDINGS_XMPP_PUSH_JID``, ``push.<domain>`` by default): an ``<enable/>`` to it
carries the phone's APNs or FCM token in its publish-options (``platform``,
``token``, optional ``environment`` and ``topic``) and becomes a device of the
user, under the id ``xmpp-push:<jid>/<node>``. From then on the push of a message
the user missed is the one every gateway sends (``core/push.py``): queued in the
outbox when no session of the user is live, with the server's unread total as
the badge; ``<disable/>`` (§6) forgets the device. An ``<enable/>`` to another
JID is refused (``not-acceptable``), as the server could not reach it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.core.devices import ENVIRONMENTS, PLATFORMS
from tidings.domain.errors import InvalidInput, NotFound
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import error_reply, iq_result
from tidings.gateways.xmpp.xep_0357.stanza import (
    NS,
    Disable,
    Enable,
    PushRequestError,
    read,
)

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session

#: Devices registered over XEP-0357 carry this prefix in their device id.
DEVICE_PREFIX = "xmpp-push:"


def push_jid(session: Session) -> str:
    """The JID of the server's own push component (an app server for its own apps)."""
    return (session.core.settings.xmpp_push_jid or f"push.{session.addressing.domain}").lower()


def device_id(jid: str, node: str) -> str:
    """One device per (app server, node): a client enables one node per install."""
    return f"{DEVICE_PREFIX}{jid}/{node}"


async def handle(session: Session, iq: Element) -> Element:
    if iq.get("type") != "set":
        return error_reply(iq, "bad-request", "enable or disable push with an iq of type set")
    try:
        request = read(iq[0])
    except PushRequestError as exc:
        return error_reply(iq, "bad-request", str(exc))
    if isinstance(request, Disable):
        await _disable(session, request)
        return iq_result(iq, from_=None)
    if request.jid != push_jid(session):
        return error_reply(iq, "not-acceptable", f"this server pushes through {push_jid(session)}")
    try:
        await _enable(session, request)
    except PushRequestError as exc:
        return error_reply(iq, "bad-request", str(exc))
    except InvalidInput as exc:
        return error_reply(iq, "bad-request", exc.message)
    return iq_result(iq, from_=None)


async def _enable(session: Session, request: Enable) -> None:
    """§5: the publish-options name the phone; the registration is a device."""
    options = request.options
    platform = options.get("platform", "")
    if platform not in PLATFORMS:
        raise PushRequestError(f"publish-option 'platform' is one of {', '.join(PLATFORMS)}")
    environment = options.get("environment") or "production"
    if environment not in ENVIRONMENTS:
        raise PushRequestError(f"publish-option 'environment' is one of {', '.join(ENVIRONMENTS)}")
    await session.core.devices.register(
        session.actor,
        platform=platform,
        token=options.get("token", ""),
        device_id=device_id(request.jid, request.node),
        environment=environment,
        app_bundle=options.get("topic") or None,
    )


async def _disable(session: Session, request: Disable) -> None:
    """§6: forget the user's own registrations for the JID (and node); none is fine."""
    devices = session.core.devices
    if request.node is not None:
        wanted = {device_id(request.jid, request.node)}
    else:
        prefix = device_id(request.jid, "")
        mine = await devices.list_devices(session.actor)
        wanted = {d.device_id for d in mine if d.device_id.startswith(prefix)}
    for name in wanted:
        with contextlib.suppress(NotFound):  # gone meanwhile: disabled all the same
            await devices.unregister(session.actor, name)


SERVICE = IqService(NS, handle, account_features=(NS,))
