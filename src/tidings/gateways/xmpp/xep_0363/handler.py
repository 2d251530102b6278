"""XEP-0363 §4-§5: slot requests to the server's own JID, answered by ``core.upload_slots``.

The server JID is the upload service (§3 allows any entity; Conversations and
slixmpp look at the server's disco#info). A slot is a PUT URL with the
``Authorization`` header the PUT must carry, and a GET URL; both name the file's
uid, which is also its ``file_id`` for attachments in the REST and ConnectyCube
APIs. The bytes go to the HTTP port (:mod:`..transport_upload`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.core.upload_slots import QuotaReached, UploadSlots
from tidings.domain.errors import InvalidInput, TooLarge
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.stanza import error_reply, iq_result
from tidings.gateways.xmpp.transport_upload import url_path
from tidings.gateways.xmpp.xep_0363.stanza import (
    NS,
    BadRequest,
    disco_extras,
    file_too_large,
    parse_request,
    slot,
)

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session
    from tidings.settings import Settings


def base_url(settings: Settings) -> str:
    """Where clients reach the HTTP port (``TIDINGS_UPLOAD_BASE_URL``)."""
    configured = settings.upload_base_url.rstrip("/")
    return configured or f"http://{settings.xmpp_domain}:{settings.port}"


async def handle(session: Session, iq: Element) -> Element:
    if iq.get("type") != "get":
        return error_reply(iq, "bad-request", "a slot is requested with an iq of type get")
    try:
        request = parse_request(iq[0])
    except BadRequest as exc:
        return error_reply(iq, "bad-request", str(exc))
    try:
        granted = await UploadSlots(session.core).request_slot(
            session.actor,
            name=request.filename,
            size=request.size,
            content_type=request.content_type,
        )
    except TooLarge as exc:
        limit = int(exc.details.get("limit", 0))
        reply = error_reply(iq, "not-acceptable", f"File too large: at most {limit} bytes")
        reply[-1].append(file_too_large(limit))  # §5
        return reply
    except QuotaReached as exc:
        # §5: a temporary error; no <retry/>, as only deleting files frees the quota.
        return error_reply(iq, "resource-constraint", exc.message)
    except InvalidInput as exc:
        return error_reply(iq, "bad-request", exc.message)
    url = base_url(session.core.settings) + url_path(session.app_id, granted.uid, granted.name)
    return iq_result(iq, slot(url, url, {"Authorization": f"Bearer {granted.ticket}"}))


def server_info(settings: Settings) -> Sequence[Element]:
    return disco_extras(settings.upload_slot_max_bytes)


SERVICE = IqService(NS, handle, server_features=(NS,), server_info=server_info)
