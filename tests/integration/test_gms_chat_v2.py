"""GMS Chat v2: REST under ``/genesys/2/chat/{svc}`` (§8) and over CometD (§9).

The phone is httpx for REST and aiocometd-ng (long-polling, ``gms_user`` and
``apikey`` headers as GMS apps send them) for CometD; the agent acts through
the core's console services. Responses are checked against §8.2: ``chatId``
always, int ``index``/``participantId``, epoch-ms ``utcTime``, known types only.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.extensions import Extension

from tests.conftest import TestServer
from tidings.domain.models import Actor

KNOWN_TYPES = {
    "ParticipantJoined",
    "ParticipantLeft",
    "Message",
    "PushUrl",
    "TypingStarted",
    "TypingStopped",
    "NicknameUpdated",
    "FileUploaded",
    "FileDeleted",
    "CustomNotice",
    "Notice",
    "IdleAlert",
    "IdleClose",
}


async def gms_app(server: TestServer) -> Any:
    app = await server.new_app("gms v2")
    return await server.core.apps.update_app(
        app.id, config={"gms": {"callback_services": ["callback-for-mobile"]}}
    )


def check_shape(body: dict[str, Any]) -> None:
    """§10 item 6."""
    assert isinstance(body["chatId"], str) and body["chatId"]
    assert isinstance(body["nextPosition"], int)
    for message in body["messages"]:
        assert isinstance(message["index"], int) and message["index"] >= 1
        assert message["type"] in KNOWN_TYPES
        assert isinstance(message["utcTime"], int) and message["utcTime"] > 10**12
        assert isinstance(message["from"]["participantId"], int)
        assert message["from"]["type"] in ("Client", "Agent", "Supervisor", "External")


async def agent_of(server: TestServer, app: Any) -> Actor:
    _, agent, _ = await server.new_user(app, role="agent", full_name="Marta")
    return Actor(app_id=app.id, user_id=agent.id, role="agent")


async def test_chat_v2_rest_whole_conversation(server: TestServer) -> None:
    app = await gms_app(server)
    actor = await agent_of(server, app)
    base = "/genesys/2/chat/customer-support"
    headers = {"apikey": app.auth_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as phone:
        started = (
            await phone.post(
                base,
                data={
                    "firstName": "Ana",
                    "lastName": "Silva",
                    "subject": "Card blocked",
                    "text": "Hello?",
                    "userData[order]": "42",
                },
            )
        ).json()
        check_shape(started)
        assert started["statusCode"] == 0 and started["chatEnded"] is False
        assert [m["type"] for m in started["messages"]] == ["ParticipantJoined", "Message"]
        assert started["messages"][0]["from"] == {
            "nickname": "Ana Silva",
            "participantId": 1,
            "type": "Client",
        }
        assert started["messages"][1]["text"] == "Hello?"
        assert started["nextPosition"] == 3
        chat_id, key = started["chatId"], started["secureKey"]
        creds = {"secureKey": key, "userId": started["userId"], "alias": started["alias"]}

        chat, _ = await server.core.gms_chats.transcript(app, chat_id, 0)
        await server.core.gms_chats.agent_join(actor, chat.ticket_id)
        await server.core.gms_chats.agent_reply(actor, chat.ticket_id, "Hi Ana")

        refreshed = (
            await phone.post(f"{base}/{chat_id}/refresh", data={**creds, "transcriptPosition": 3})
        ).json()
        check_shape(refreshed)
        assert [(m["index"], m["type"]) for m in refreshed["messages"]] == [
            (3, "ParticipantJoined"),
            (4, "Message"),
        ]
        assert refreshed["messages"][1]["from"]["type"] == "Agent"
        assert refreshed["messages"][1]["text"] == "Hi Ana"
        assert refreshed["nextPosition"] == 5

        typed = (await phone.post(f"{base}/{chat_id}/startTyping/", data=creds)).json()
        assert typed["statusCode"] == 0
        sent = (
            await phone.post(
                f"{base}/{chat_id}/send",
                data={**creds, "message": "My card", "transcriptPosition": 5},
            )
        ).json()
        assert [m["type"] for m in sent["messages"]] == ["TypingStarted", "Message"]
        assert sent["messages"][-1]["text"] == "My card"
        ticket = await server.core.desk.ticket(actor, chat.ticket_id)
        assert "My card" in [c.body for c in ticket.comments], "the agent sees it"

        # Errors are 200 with statusCode 2 (§1.5, §8.1).
        wrong = await phone.post(f"{base}/{chat_id}/refresh", data={"secureKey": "nope"})
        assert wrong.status_code == 200 and wrong.json()["statusCode"] == 2
        assert wrong.json()["chatId"] == chat_id
        missing = (await phone.post(f"{base}/no-such-chat/send", data=creds)).json()
        assert missing["statusCode"] == 2 and missing["errors"][0]["code"] == 404
        odd = (await phone.post(f"{base}/{chat_id}/warpDrive", data=creds)).json()
        assert odd["statusCode"] == 2

        done = (await phone.post(f"{base}/{chat_id}/disconnect", data=creds)).json()
        assert done["chatEnded"] is True
        whole = (
            await phone.post(f"{base}/{chat_id}/refresh", data={**creds, "transcriptPosition": 1})
        ).json()
        check_shape(whole)
        assert [m["index"] for m in whole["messages"]] == list(range(1, 8))
        assert whole["messages"][-1]["type"] == "ParticipantLeft"


class Phone(Extension):
    """Headers every GMS Comet request carries (§7.1)."""

    def __init__(self, user: str, api_key: str) -> None:
        self.headers = {"gms_user": user, "apikey": api_key}

    async def outgoing(self, payload: list, headers: dict) -> None:
        headers.update(self.headers)

    async def incoming(self, payload: list, headers: dict | None = None) -> None:
        return None


async def next_on(comet: Client, channel: str) -> dict:
    async def first() -> dict:
        async for message in comet:
            if message["channel"] == channel:
                return message
        raise AssertionError("comet stream ended")

    return await asyncio.wait_for(first(), 10)


async def test_chat_v2_over_cometd(server: TestServer) -> None:
    app = await gms_app(server)
    actor = await agent_of(server, app)
    channel = "/service/chatV2/customer-support"
    user = "u-" + secrets.token_hex(4)
    comet_url = f"{server.base_url}/genesys/cometd"
    async with Client(
        comet_url,
        connection_types=[ConnectionType.LONG_POLLING],
        extensions=[Phone(user, app.auth_key)],
    ) as comet:
        await comet.subscribe(channel)
        ack = await comet.publish(
            channel,
            {
                "operation": "requestChat",
                "nickname": "Ana",
                "subject": "Card blocked",
                "userData": {"push_notification_deviceid": "abc", "order": "42"},
            },
        )
        assert ack["successful"] is True and "data" not in ack
        first = await next_on(comet, channel)
        assert "id" not in first, "no Bayeux id on deliveries (§9)"
        body = first["data"]
        check_shape(body)
        assert body["statusCode"] == 0 and body["chatEnded"] is False
        assert body["secureKey"] and body["userId"] == user and body["alias"]
        assert [m["type"] for m in body["messages"]] == ["ParticipantJoined"]
        chat_id, key = body["chatId"], body["secureKey"]

        # The agent joins and answers: each change arrives as a §8.2 object.
        chat, _ = await server.core.gms_chats.transcript(app, chat_id, 0)
        assert chat.gms_user == user
        await server.core.gms_chats.agent_join(actor, chat.ticket_id)
        await server.core.gms_chats.agent_reply(actor, chat.ticket_id, "Hi Ana")
        seen: list[dict] = []
        while len(seen) < 2:
            event = (await next_on(comet, channel))["data"]
            check_shape(event)
            assert event["chatId"] == chat_id and "secureKey" not in event
            seen += event["messages"]
        assert [(m["index"], m["type"]) for m in seen] == [
            (2, "ParticipantJoined"),
            (3, "Message"),
        ]
        assert seen[1]["text"] == "Hi Ana" and seen[1]["from"]["type"] == "Agent"

        # The phone types and writes; no entry is delivered twice.
        await comet.publish(channel, {"operation": "startTyping", "secureKey": key})
        await comet.publish(
            channel, {"operation": "sendMessage", "secureKey": key, "message": "My card"}
        )
        mine: list[dict] = []
        while len(mine) < 2:
            mine += (await next_on(comet, channel))["data"]["messages"]
        assert [(m["index"], m["type"]) for m in mine] == [(4, "TypingStarted"), (5, "Message")]
        ticket = await server.core.desk.ticket(actor, chat.ticket_id)
        assert "My card" in [c.body for c in ticket.comments]

        # A wrong secureKey is answered on the channel with statusCode 2.
        await comet.publish(channel, {"operation": "sendMessage", "secureKey": "bad"})
        refused = (await next_on(comet, channel))["data"]
        while refused["statusCode"] == 0:  # answers to the earlier operations
            refused = (await next_on(comet, channel))["data"]
        assert refused["statusCode"] == 2 and refused["errors"][0]["code"] == 404

    # Background and back: a new Comet session resumes with requestNotifications.
    async with Client(
        comet_url,
        connection_types=[ConnectionType.LONG_POLLING],
        extensions=[Phone(user, app.auth_key)],
    ) as comet:
        await comet.subscribe(channel)
        await comet.publish(
            channel,
            {"operation": "requestNotifications", "secureKey": key, "transcriptPosition": 3},
        )
        resumed = (await next_on(comet, channel))["data"]
        assert [m["index"] for m in resumed["messages"]] == [3, 4, 5]
        await server.core.gms_chats.agent_leave(actor, chat.ticket_id)
        left = (await next_on(comet, channel))["data"]
        assert [m["type"] for m in left["messages"]] == ["ParticipantLeft"]
        assert left["messages"][0]["from"]["type"] == "Agent"
        await comet.publish(channel, {"operation": "disconnect", "secureKey": key})
        ended = (await next_on(comet, channel))["data"]
        while not ended["chatEnded"]:
            ended = (await next_on(comet, channel))["data"]
        assert ended["chatEnded"] is True
