"""Chat v2 over CometD: operations published on ``/service/chatV2/{svc}`` (gms-wire §9).

The phone publishes ``{"operation": …}`` on the service channel; the Bayeux
gateway acks it and hands it here. Answers and later chat events are delivered
on the same channel as §8.2 response objects (the REST v2 shape).

The app is the one the session handshook with (its ``app_id`` attribute), the
phone its ``gms_user`` (none: each ``requestChat`` gets an anonymous identity of
its own); a chat named by ``chatId`` or ``secureKey`` must be that app's, that
phone's when it has a ``gms_user``, and the ``secureKey`` must match.

Which chats a session follows is kept in the session's own attributes
(``chatV2:<chatId>`` → ``"<last position delivered> <service name>"``): they
travel with the session when it moves to another node, and the position lets
the direct answer and the bus-driven event deliveries never repeat an entry.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from tidings.core.gms_chats import Chat, Entry
from tidings.core.hub import Core
from tidings.domain.errors import DomainError, Forbidden, NotFound, Unauthenticated
from tidings.gateways.gms.mapping import v2_error, v2_response
from tidings.gateways.gms.protocol import profile_of

log = logging.getLogger("tidings.gms")

PREFIX = "/service/chatV2"
KEY = "chatV2:"
APP = "app_id"
USER = "gms_user"


class Sessions(Protocol):
    def deliver(self, client_id: str, channel: str, data: Any) -> bool: ...
    def session_of(self, client_id: str) -> Any: ...
    def sessions_where(self, **attributes: str) -> list[Any]: ...


def _params(data: dict[str, Any]) -> dict[str, str]:
    """Publish data as the flat string params the REST API has (``userData`` inlined)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            out[str(key)] = str(value)
    user_data = data.get("userData")
    if isinstance(user_data, dict):
        for key, value in user_data.items():
            if isinstance(value, str | int | float):
                out.setdefault(str(key), str(value))
    return out


class ChatV2Comet:
    def __init__(self, core: Core, sessions: Sessions) -> None:
        self.core = core
        self.sessions = sessions

    async def handle(self, client_id: str, channel: str, data: Any, ext: Any) -> None:
        """One operation; every outcome, errors included, is a delivery on ``channel``."""
        svc = channel.removeprefix(PREFIX + "/").split("/", 1)[0]
        if not svc or not isinstance(data, dict):
            self.sessions.deliver(client_id, channel, v2_error(400, "bad request"))
            return
        try:
            answer = await self._operation(client_id, svc, data)
        except NotFound as exc:
            answer = v2_error(404, exc.message, str(data.get("chatId", "")))
        except (Unauthenticated, Forbidden) as exc:
            answer = v2_error(exc.status, exc.message, str(data.get("chatId", "")))
        except DomainError as exc:
            answer = {**v2_error(400, exc.message, str(data.get("chatId", ""))), "statusCode": 1}
        self.sessions.deliver(client_id, channel, answer)

    async def _operation(self, client_id: str, svc: str, data: dict[str, Any]) -> dict[str, Any]:
        params = _params(data)
        session = self.sessions.session_of(client_id)
        if session is None:
            return v2_error(404, "unknown session")
        if not session.attributes.get(APP):
            raise Unauthenticated("the Comet session names no app")
        app = await self.core.callbacks.gms_app_of(int(session.attributes[APP]))
        owner = session.attributes.get(USER) or None
        operation = params.get("operation", "")
        if operation == "requestChat":
            service = await self.core.callbacks.start(app, svc, params, owner, kind="chat")
            await self.core.gms_chats.create(app, service, service.gms_user, profile_of(params))
            if params.get("text"):
                await self.core.gms_chats.client_send(app, service.id, params["text"])
            return await self._answer(session, app, svc, service.id, 0, replay=True)
        chat = await self._chat(app, params, owner)
        if chat is None:
            return v2_error(404, "unknown chat", params.get("chatId", ""))
        if params.get("secureKey") != chat.secure_key:
            return v2_error(403, "secureKey does not match", chat.service_id)
        if operation == "requestNotifications":
            after = max(0, int(params.get("transcriptPosition") or 1) - 1)
            return await self._answer(session, app, svc, chat.service_id, after, replay=True)
        if operation == "sendMessage":
            await self.core.gms_chats.client_send(app, chat.service_id, params.get("message", ""))
        elif operation in ("startTyping", "stopTyping"):
            await self.core.gms_chats.client_typing(
                app, chat.service_id, operation == "startTyping"
            )
        elif operation == "disconnect":
            await self.core.gms_chats.client_disconnect(app, chat.service_id)
        else:
            return v2_error(400, f"unsupported operation {operation}", chat.service_id)
        # The entries this operation added reach the session as chat events; the answer
        # itself says where the transcript stands.
        return await self._answer(session, app, svc, chat.service_id, 0, replay=False)

    async def _chat(self, app: Any, params: dict[str, str], owner: str | None) -> Chat | None:
        if params.get("chatId"):
            try:
                chat, _ = await self.core.gms_chats.transcript(
                    app, params["chatId"], 1 << 30, owner
                )
            except NotFound:
                return None
            return chat
        return await self.core.gms_chats.find_by_secure_key(app, params.get("secureKey", ""), owner)

    async def _answer(
        self, session: Any, app: Any, svc: str, chat_id: str, after: int, *, replay: bool
    ) -> dict[str, Any]:
        """The transcript from ``after`` (``replay``: asked for), else only what this
        session has not been sent yet; either way the session now follows the chat."""
        chat, entries = await self.core.gms_chats.transcript(app, chat_id, after)
        followed = self._followed(session).get(chat_id, (0, svc))[0]
        if not replay:
            entries = [e for e in entries if e.position > followed]
        delivered = max([followed, after] + [e.position for e in entries])
        session.attributes[KEY + chat_id] = f"{delivered} {svc}"
        return v2_response(chat, entries)

    @staticmethod
    def _followed(session: Any) -> dict[str, tuple[int, str]]:
        out = {}
        for key, value in session.attributes.items():
            if key.startswith(KEY):
                position, _, svc = value.partition(" ")
                out[key.removeprefix(KEY)] = (int(position or 0), svc)
        return out

    async def catch_up(self) -> None:
        """After a bus gap: every followed chat's entries after the lowest position a
        local session was sent, through :meth:`chat_changed` (which sends each session
        only what it lacks). Positions make this independent of when the gap began."""
        lowest: dict[tuple[int, str], int] = {}
        for session in self.sessions.sessions_where():
            app = session.attributes.get(APP)
            if not app:
                continue
            for chat_id, (position, _) in self._followed(session).items():
                key = (int(app), chat_id)
                lowest[key] = min(position, lowest.get(key, position))
        for (app_id, chat_id), position in lowest.items():
            try:
                app = await self.core.callbacks.gms_app_of(app_id)
                chat, entries = await self.core.gms_chats.transcript(app, chat_id, position)
            except DomainError:
                continue  # the app or the chat is gone: nothing to catch up
            if entries:
                self.chat_changed(chat, entries)

    def chat_changed(self, chat: Chat, entries: list[Entry]) -> None:
        """A transcript change (any node): deliver new entries to following sessions here."""
        for session in self.sessions.sessions_where(**{APP: str(chat.app_id)}):
            followed = self._followed(session).get(chat.service_id)
            if followed is None:
                continue
            position, svc = followed
            fresh = [e for e in entries if e.position > position]
            if not fresh:
                continue
            last = max([position] + [e.position for e in fresh])
            session.attributes[KEY + chat.service_id] = f"{last} {svc}"
            body = v2_response(chat, fresh)
            body.pop("secureKey", None)  # only the first answer carries it (§9)
            self.sessions.deliver(session.id, f"{PREFIX}/{svc}", body)
