"""A bus outage loses no GMS chat entry on Comet (docs/gms.md "Bus outages"; issue: "A bus
outage loses nothing").

A phone's Bayeux session (raw httpx, ``apikey`` + ``gms_user`` headers) starts a chat
with Chat v2 over CometD and subscribes to ``/_genesys``. The agent writes 10 replies,
then 20 while the memory bus loses every event (``MemoryBus.outage``: what a node cut
off from Redis sees), then 10 more. When the bus comes back the GMS gateway reads the
transcript back from the store; one lost event is then published again late (as a
publisher's backlog would). Counted per channel by entry: every entry arrives once.
"""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

import httpx

from tests.conftest import TestServer
from tidings.domain.events import GmsChatChanged
from tidings.domain.models import Actor

COMET = "/genesys/cometd"
SVC = "customer-support"
CHAT_V2 = f"/service/chatV2/{SVC}"
BEFORE, DURING, AFTER = 10, 20, 10


class Phone:
    """A raw Bayeux session that keeps every delivery it is handed, whatever response
    carries it (connect replies, or piggybacked on a publish's)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url
        self.client_id = ""
        self.deliveries: list[dict[str, Any]] = []

    async def send(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.http.post(self.url, json=list(messages), timeout=30)
        assert response.status_code == 200, response.text
        replies = response.json()
        self.deliveries += [r for r in replies if "successful" not in r]
        return [r for r in replies if "successful" in r]

    async def start(self) -> None:
        hello = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
        }
        (reply,) = await self.send(hello)
        assert reply["successful"] is True, reply
        self.client_id = reply["clientId"]
        await self.poll()
        sub = {
            "channel": "/meta/subscribe",
            "clientId": self.client_id,
            "subscription": ["/_genesys", CHAT_V2],
        }
        assert (await self.send(sub))[0]["successful"] is True

    async def poll(self) -> None:
        """A connect answered at once (``timeout: 0``) with whatever is queued."""
        connect = {
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
            "advice": {"timeout": 0},
        }
        (reply,) = await self.send(connect)
        assert reply["successful"] is True, reply

    async def publish(self, data: dict[str, Any]) -> None:
        message = {"channel": CHAT_V2, "clientId": self.client_id, "data": data}
        assert (await self.send(message))[0]["successful"] is True


async def test_gms_comet_entries_survive_a_bus_outage_exactly_once(server: TestServer) -> None:
    app = await server.new_app("gms outage")
    app = await server.core.apps.update_app(
        app.id, config={"gms": {"callback_services": ["callback-for-mobile"]}}
    )
    _, agent, _ = await server.new_user(app, role="agent", full_name="Marta")
    actor = Actor(app_id=app.id, user_id=agent.id, role="agent")
    user = "u-" + secrets.token_hex(4)
    bus = server.core.bus
    headers = {"apikey": app.auth_key, "gms_user": user}
    async with httpx.AsyncClient(headers=headers) as http:
        phone = Phone(http, server.base_url + COMET)
        await phone.start()
        await phone.publish({"operation": "requestChat", "nickname": "Ana", "subject": "Card"})
        await bus.drain()
        await phone.poll()
        answer = next(d for d in phone.deliveries if d["channel"] == CHAT_V2)["data"]
        chat_id = answer["chatId"]
        chat, _ = await server.core.gms_chats.transcript(app, chat_id, 0)
        await server.core.gms_chats.agent_join(actor, chat.ticket_id)

        async def replies(first: int, count: int) -> None:
            for n in range(first, first + count):
                await server.core.gms_chats.agent_reply(actor, chat.ticket_id, f"reply {n}")

        await replies(0, BEFORE)
        await bus.drain()
        await phone.poll()
        async with bus.outage():
            await replies(BEFORE, DURING)
        await bus.drain()  # the resume handlers (the catch-up) have run
        await phone.poll()
        # A lost event arrives late after all (a publisher's backlog): no second copy.
        _, late = await server.core.gms_chats.transcript(app, chat_id, 0)
        lost = next(e for e in late if e.text == f"reply {BEFORE}")
        header = {
            "chat_session_id": chat.chat_session_id,
            "state": "TRANSCRIPT",
            "started_ms": chat.started_ms,
            "last_position": lost.position,
        }
        entry = [lost.position, lost.kind, lost.nickname, lost.text, lost.party, lost.created_ms]
        await server.core.publish(
            GmsChatChanged(
                app_id=app.id, service_id=chat_id, gms_user=user, chat=header, entries=[entry]
            )
        )
        await replies(BEFORE + DURING, AFTER)
        await bus.drain()
        await phone.poll()

    _, transcript = await server.core.gms_chats.transcript(app, chat_id, 0)
    expected = Counter(e.position for e in transcript)
    v2 = Counter(
        m["index"]
        for d in phone.deliveries
        if d["channel"] == CHAT_V2
        for m in d["data"].get("messages", [])
    )
    texts = Counter((e.nickname, e.text) for e in transcript)
    genesys = Counter(
        (row[1], row[2])
        for d in phone.deliveries
        if d["channel"] == "/_genesys"
        for row in d["data"]["message"]["transcriptToShow"]
    )
    sent = BEFORE + DURING + AFTER
    for name, got, want in (("chatV2", v2, expected), ("/_genesys", genesys, texts)):
        lost_n = sum(1 for k in want if got[k] == 0)
        dup = sum(c - 1 for c in got.values() if c > 1)
        print(
            f"{name}: {sent} replies ({DURING} during the outage), "
            f"{len(want)} entries, lost {lost_n}, dup {dup}"
        )
        assert (lost_n, dup) == (0, 0), (name, got, want)
        assert set(got) == set(want)
