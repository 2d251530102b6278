"""XEP-0054 iqs -> ``core.users``: a vCard is the user's full name and avatar.

Get: the user's own card (no ``to``, or their own bare JID, §3.1) or another user's
of the same app (their bare JID, answered by the server for the account, §3.3;
dispatch already answered ``service-unavailable`` for anyone else, RFC 6120
§10.5.3.2). Set: only one's own card (§3.2), and it replaces the card: a missing
FN or PHOTO clears the name or the avatar. The avatar is served by the file
endpoints too, and its hash goes in presence (XEP-0153).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

from tidings.domain.errors import InvalidInput, NotFound, TooLarge
from tidings.gateways.xmpp.iq_service import IqService
from tidings.gateways.xmpp.jid import JID, JidError, parse_user_local
from tidings.gateways.xmpp.stanza import child, error_reply, iq_result
from tidings.gateways.xmpp.xep_0054.stanza import NS, CardError, read, write

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def handle(session: Session, iq: Element) -> Element:
    vcard = child(iq, NS, "vCard")
    if vcard is None:
        return error_reply(iq, "bad-request", "a vcard-temp iq carries <vCard/>")
    user_id = _target(session, iq.get("to"))
    if user_id is None:
        return error_reply(iq, "service-unavailable")
    if iq.get("type") == "get":
        return iq_result(iq, await _card(session, user_id))
    if user_id != session.user_id:
        return error_reply(iq, "forbidden", "only your own vCard can be set")
    try:
        card = read(vcard, session.core.settings.avatar_max_bytes)
        await session.core.users.set_card(
            session.actor, full_name=card.full_name, avatar=card.photo
        )
    except CardError as exc:
        return error_reply(iq, exc.condition, exc.text)
    except TooLarge as exc:
        return error_reply(iq, "not-acceptable", exc.message)
    except InvalidInput as exc:
        return error_reply(iq, "not-acceptable", exc.message)
    return iq_result(iq)


def _target(session: Session, to: str | None) -> int | None:
    """Whose card: the sender's own without ``to``, else the user the bare JID names."""
    if not to:
        return session.user_id
    try:
        jid = JID.parse(to)
        user_id, app_id = parse_user_local(jid.local)
    except JidError:
        return None
    return user_id if app_id == session.app_id else None


async def _card(session: Session, user_id: int) -> Element:
    user = await session.core.users.get_user(session.actor, user_id)
    photo, photo_type = None, None
    if user.avatar_uid:
        try:
            info, body = await session.core.files.open(session.actor, user.avatar_uid)
        except NotFound:
            pass  # the file went away: the card has no picture
        else:
            photo = b"".join([chunk async for chunk in body])
            photo_type = info.content_type
    return write(user.full_name, photo, photo_type)


SERVICE = IqService(NS, handle, server_features=(NS,), account_features=(NS,), for_accounts=True)
