"""``/_genesys`` chat notifications (gms-callback-chat-wire §7): each transcript entry
reaches each subscribed Comet session of the chat's phone once.

A notification goes to the Bayeux sessions bound to the chat's app and
``gms_user`` that subscribed to ``/_genesys``; one that arrives before the phone
subscribed waits (§7.2 race) for up to :data:`PENDING_TTL`.

Why positions: a bus outage loses ``GmsChatChanged`` events, and :meth:`catch_up`
reads the entries back from the store; the lost events may also arrive late (a
publisher's backlog). Each session keeps, per chat, the last position it was
sent (attribute ``genesys:<service id>``, which travels with the session to
another node), and only later entries are sent, whichever way they came.
"""

from __future__ import annotations

import time
from typing import Any

from tidings.core.catch_up import MARGIN_MS
from tidings.core.gms_chats import Chat, Entry
from tidings.core.hub import Core
from tidings.gateways.gms.mapping import notification

CHANNEL = "/_genesys"
PENDING_TTL = 60.0
KEY = "genesys:"
#: The Bayeux session attributes naming its app and its GMS user (set at handshake).
APP = "app_id"
USER = "gms_user"


class GenesysNotifier:
    def __init__(self, core: Core, comet: Any) -> None:
        self.core = core
        self.comet = comet
        #: (app id, gms_user) -> (queued at, chat, entries) waiting for a subscription.
        self._pending: dict[tuple[str, str], list[tuple[float, Chat, list[Entry]]]] = {}

    def chat_changed(self, chat: Chat, entries: list[Entry]) -> None:
        """New entries of ``chat`` (from the bus or a catch-up): notify the phone's
        subscribed sessions of the ones each has not had; keep them if none is here."""
        owner = (str(chat.app_id), chat.gms_user)
        sessions = [
            s
            for s in self.comet.sessions_where(**{APP: owner[0], USER: owner[1]})
            if s.subscribed_to(CHANNEL)
        ]
        if not sessions:
            self._pending.setdefault(owner, []).append((time.monotonic(), chat, entries))
            return
        for session in sessions:
            self._notify(session, chat, entries)

    def _notify(self, session: Any, chat: Chat, entries: list[Entry]) -> None:
        sent = int(session.attributes.get(KEY + chat.service_id, 0))
        fresh = [e for e in entries if e.position > sent]
        if not fresh:
            return
        session.attributes[KEY + chat.service_id] = str(max(e.position for e in fresh))
        self.comet.deliver(session.id, CHANNEL, notification(chat.service_id, chat, fresh))

    def subscribed(self, client_id: str) -> None:
        """A session subscribed to ``/_genesys``: hand it what waited for its phone."""
        session = self.comet.session_of(client_id)
        if session is None or not session.attributes.get(USER):
            return
        owner = (session.attributes.get(APP, ""), session.attributes[USER])
        now = time.monotonic()
        for at, chat, entries in self._pending.pop(owner, []):
            if now - at < PENDING_TTL:
                self._notify(session, chat, entries)

    def prune_pending(self) -> None:
        """Forget notifications nobody subscribed for in time (every anonymous phone is
        a user of its own, so chats followed only over REST would pile up)."""
        oldest = time.monotonic() - PENDING_TTL
        for owner in list(self._pending):
            fresh = [item for item in self._pending[owner] if item[0] > oldest]
            if fresh:
                self._pending[owner] = fresh
            else:
                del self._pending[owner]

    async def catch_up(self, since_ms: int) -> None:
        """The bus may have lost events from ``since_ms`` on: read the entries of the
        subscribed phones' chats back from the store and notify what was not sent."""
        phones: dict[int, set[str]] = {}
        for session in self.comet.sessions_where():
            app, user = session.attributes.get(APP), session.attributes.get(USER)
            if app and user and session.subscribed_to(CHANNEL):
                phones.setdefault(int(app), set()).add(user)
        for app_id, users in phones.items():
            changed = await self.core.gms_chats.changed_since(
                app_id, sorted(users), since_ms - MARGIN_MS
            )
            for chat, entries in changed:
                self.chat_changed(chat, entries)
