"""The seed's whole mobile flow, scripted: callback -> APNs push -> dialogs -> chat on /_genesys.

A phone (httpx + aiocometd-ng, which nobody here wrote) asks for a chat callback
that waits for an agent; an agent takes it from the console's queue, so the
phone gets an APNs push (a local APNs stand-in) carrying ``{_id, _action}``; the
phone posts the action, gets StartChat, chats with the agent through Comet
(joined, typing, messages, left) and disconnects. Dialogs are checked field by
field against the seed (gms-callback-chat-wire §3.7, §4, §6, §7).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.extensions import Extension

from tests.conftest import TestServer
from tests.integration.delivery_fakes import FakeAPNs, eventually
from tidings.domain.models import Actor


async def gms_app(server: TestServer, apns: Any) -> Any:
    app = await server.new_app("gms app")
    return await server.core.apps.update_app(
        app.id,
        config={
            "gms": {"callback_services": ["callback-for-mobile"]},
            "apns": apns.app_config(),
        },
    )


class GmsUser(Extension):
    """What the GMS samples do: ``gms_user`` and the app's ``apikey`` on every Comet
    request (and ``gms_user`` in the handshake ext)."""

    def __init__(self, user: str, api_key: str) -> None:
        self.user = user
        self.api_key = api_key

    async def outgoing(self, payload: list, headers: dict) -> None:
        headers["gms_user"] = self.user
        headers["apikey"] = self.api_key
        for message in payload:
            if message.get("channel") == "/meta/handshake":
                message.setdefault("ext", {})["gms_user"] = self.user

    async def incoming(self, payload: list, headers: dict | None = None) -> None:
        return None


async def next_notification(comet: Client) -> dict:
    async def first() -> dict:
        async for message in comet:
            if message["channel"] == "/_genesys":
                return message
        raise AssertionError("comet stream ended")

    return await asyncio.wait_for(first(), 10)


async def test_seed_flow_callback_push_dialogs_and_chat(server: TestServer, apns: FakeAPNs) -> None:
    app = await gms_app(server, apns)
    _, agent, agent_token = await server.new_user(app, role="agent", full_name="Marta")
    console = httpx.AsyncClient(base_url=server.base_url, cookies={"tidings_console": agent_token})
    actor = Actor(app_id=app.id, user_id=agent.id, role="agent")
    host = server.base_url.split("://", 1)[1]
    ext = f"http://{host}/genesys"
    user = "u-" + secrets.token_hex(4)
    token = secrets.token_hex(32)
    headers = {"gms_user": user, "apikey": app.auth_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as phone:
        # 1. Start a chat callback that waits for an agent (§3.7 last row).
        started = await phone.post(
            "/genesys/1/service/callback/callback-for-mobile",
            json={
                "_customer_number": "+15145550123",
                "_media_type": "chat",
                "_wait_for_agent": True,
                "_device_os": "ios",
                "_device_notification_id": token,
                "_apns_environment": "development",
                "first_name": "Ana",
                "subject": "Card blocked",
            },
        )
        assert started.status_code == 200, started.text
        record = started.json()
        sid = record["_id"]
        assert record["_action"] == "ConfirmationDialog"
        assert record["_text"] == "We will notify you when agent is available"
        assert record["_ok_title"] == "Ok" and record["_dialog_id"] == "0"
        assert record["_callback_state"] == "QUEUED"
        assert record["_desired_time"].endswith("Z") and len(record["_desired_time"]) == 24
        assert record["first_name"] == "Ana"
        assert record["_url"] == f"{ext}/1/service/callback/callback-for-mobile/{sid}"

        # 2. The agent sees it in the queue and makes the phone get its push.
        page = await console.get("/console/callbacks")
        assert page.status_code == 200 and f'data-service-id="{sid}"' in page.text
        notified = await console.post(f"/console/callbacks/{sid}/notify")
        assert notified.status_code == 303
        pushes = await eventually(lambda: apns.for_token(token), what="the APNs push")
        message = json.loads(pushes[0]["payload"]["message"])
        assert message == {"_id": sid, "_action": "get-dialog-start-chat"}

        # 3. The phone follows the push: POST {base}/1/service/{_id}/{_action}.
        dialog = (await phone.post(f"/genesys/1/service/{sid}/{message['_action']}")).json()
        assert dialog == {
            "_dialog_id": "1",
            "_action": "StartChat",
            "_label": "Start Chat",
            "_start_chat_url": f"{ext}/1/service/{sid}/ixn/chat",
            "_comet_url": f"{ext}/cometd",
            "_user_header": user,
            "_id_to_jump_before": "exit://",
            "_chat_parameters": {"subject": "Card blocked"},
            "_id": sid,
        }
        same = (await phone.get(f"/genesys/1/service/{sid}/get-dialog-start-chat")).json()
        assert same == dialog, "GET answers like POST (§2.3)"

        # 4. Comet: handshake, subscribe /_genesys, then create the interaction.
        async with Client(
            dialog["_comet_url"],
            connection_types=[ConnectionType.LONG_POLLING],
            extensions=[GmsUser(user, app.auth_key)],
        ) as comet:
            await comet.subscribe("/_genesys")
            created = await phone.post(
                dialog["_start_chat_url"].removeprefix(f"http://{host}"),
                data={"_verbose": "true", "notify_by": "comet", "firstName": "Ana"},
            )
            ixn = created.json()
            assert ixn["chatIxnState"] == "TRANSCRIPT"
            assert ixn["transcriptPosition"] == "1"
            assert ixn["transcriptToShow"][0][:3] == [
                "Notice.Joined",
                "Ana",
                "has joined the session",
            ]
            assert ixn["transcriptToShow"][0][4] == "CLIENT"
            assert ixn["_chatIxnAPI_SEND_URL"] == f"/genesys/1/service/{sid}/ixn/chat/send"
            assert isinstance(ixn["chatWebApiPort"], int) and ixn["isTLSrequired"] is False
            first = await next_notification(comet)
            assert first["data"]["tag"] == f"service.chat.refresh.{sid}"
            assert "id" not in first

            # 5. The agent joins, types and answers from the console.
            inbox = await server.core.desk.inbox(actor, "unassigned")
            chat, _ = await server.core.gms_chats.transcript(app, sid, 0)
            ticket_id = chat.ticket_id
            assert ticket_id in [t.ticket_id for t in inbox.tickets], "the console lists it"
            page = await console.get(f"/console/tickets/{ticket_id}")
            assert 'id="gms-join"' in page.text
            for action in ("join", "typing"):
                assert (
                    await console.post(f"/console/tickets/{ticket_id}/gms/{action}")
                ).status_code == 303
            replied = await console.post(
                f"/console/upload/reply/{ticket_id}",
                files={"body": (None, "Hello Ana, how can I help?")},
            )
            assert replied.status_code == 303
            seen = [await next_notification(comet) for _ in range(3)]
            entries = [n["data"]["message"]["transcriptToShow"][0] for n in seen]
            assert [e[0] for e in entries] == [
                "Notice.Joined",
                "Notice.TypingStarted",
                "Message.Text",
            ]
            assert all(e[4] == "AGENT" and all(isinstance(x, str) for x in e) for e in entries)
            assert entries[2][2] == "Hello Ana, how can I help?"
            assert [n["data"]["message"]["transcriptPosition"] for n in seen] == ["2", "3", "4"]

            # 6. The customer types and writes; the agent sees it in the ticket.
            await phone.post(f"/genesys/1/service/{sid}/ixn/chat/startTyping")
            sent = await phone.post(
                f"/genesys/1/service/{sid}/ixn/chat/send", data={"message": "My card"}
            )
            assert sent.json()["transcriptToShow"][-1][:3] == ["Message.Text", "Ana", "My card"]
            ticket = await server.core.desk.ticket(actor, ticket_id)
            assert "My card" in [c.body for c in ticket.comments]
            assert (
                await console.post(f"/console/tickets/{ticket_id}/gms/leave")
            ).status_code == 303
            refreshed = await phone.post(
                f"/genesys/1/service/{sid}/ixn/chat/refresh", data={"transcriptPosition": "0"}
            )
            kinds = [e[0] for e in refreshed.json()["transcriptToShow"]]
            assert kinds[-1] == "Notice.Left" and refreshed.json()["transcriptPosition"] == "8"

            # 7. Disconnect: the last notification says DISCONNECTED.
            done = await phone.post(f"/genesys/1/service/{sid}/ixn/chat/disconnect")
            assert done.json()["chatIxnState"] == "DISCONNECTED"
            while True:
                last = await next_notification(comet)
                if last["data"]["message"]["chatIxnState"] == "DISCONNECTED":
                    break
    await console.aclose()
