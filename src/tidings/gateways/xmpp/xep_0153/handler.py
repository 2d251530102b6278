"""XEP-0153 for a client's presences: the server's avatar hash, never the client's.

A client puts the hash of the avatar it believes it published in its presences
(§3.2, §4.2). The server knows the avatar (``core.users``, set by a vCard or any
other API), so it drops whatever the client claimed and stamps the hash it holds;
a user without an avatar gets none, which says "not advertising" (§3.1). When the
avatar changes, ``core.presence.restamp_avatar`` announces the new hash at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tidings.gateways.xmpp.session import Session


async def stamp(session: Session, presence: dict[str, Any]) -> None:
    """Put the user's avatar hash in an available presence's ``presence`` data."""
    presence.pop("avatar_hash", None)
    user = await session.core.users.get_user(session.actor, session.user_id)
    if user.avatar_sha1:
        presence["avatar_hash"] = user.avatar_sha1
