"""A GMS callback's state follows what really happens (gms-callback-chat-wire §3.4).

Each test plays a phone (httpx, with the app's ``apikey`` and a ``gms_user``) and an
agent (the console over HTTP, with its session cookie) against a running server, and
reads the state after every step the way a phone does (``GET
{base}/1/service/callback/{name}``, §3.4) and the way the console does
(``/console/callbacks.json``). Pushes go to the local APNs stand-in, or nowhere
(an app without APNs credentials: the outbox declares the push dead).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import TestServer
from tests.integration.delivery_fakes import FakeAPNs, eventually

SVC = "callback-for-mobile"
START = f"/genesys/1/service/callback/{SVC}"


@dataclass
class Desk:
    """One phone and one agent of one app."""

    server: TestServer
    app: Any
    phone: httpx.AsyncClient
    console: httpx.AsyncClient
    user: str

    async def state(self, sid: str) -> tuple[str, str]:
        """The callback's state and reason as the phone lists them (§3.4)."""
        listed = await self.phone.get(START, params={"_id": sid})
        assert listed.status_code == 200, listed.text
        (record,) = [r for r in listed.json() if r["_id"] == sid]
        return record["_callback_state"], record["_callback_reason"]

    async def queue(self) -> dict[str, dict[str, Any]]:
        """The console's queue (the agents' view), by callback id."""
        answer = await self.console.get("/console/callbacks.json")
        assert answer.status_code == 200, answer.text
        return {e["id"]: e for e in answer.json()}

    async def start(self, **params: Any) -> str:
        body = {"_customer_number": "+15145550123", "first_name": "Ana", **params}
        started = await self.phone.post(START, json=body)
        assert started.status_code == 200, started.text
        return str(started.json()["_id"])

    async def agent(self, sid: str, action: str, **form: str) -> httpx.Response:
        return await self.console.post(f"/console/callbacks/{sid}/{action}", data=form)


@asynccontextmanager
async def desk(server: TestServer, config: dict[str, Any]) -> AsyncIterator[Desk]:
    app = await server.new_app("gms lifecycle")
    app = await server.core.apps.update_app(app.id, config=config)
    _, _, token = await server.new_user(app, role="agent", full_name="Marta")
    user = "u-" + secrets.token_hex(4)
    headers = {"gms_user": user, "apikey": app.auth_key}
    async with (
        httpx.AsyncClient(base_url=server.base_url, headers=headers) as phone,
        httpx.AsyncClient(base_url=server.base_url, cookies={"tidings_console": token}) as console,
    ):
        yield Desk(server, app, phone, console, user)


def gms(**options: Any) -> dict[str, Any]:
    return {"callback_services": [SVC], **options}


def iso_in(seconds: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_seed_flow_moves_through_every_state_and_leaves_the_queue(
    server: TestServer, apns: FakeAPNs
) -> None:
    """§3.4, §3.7 last row: QUEUED → ROUTING (push delivered) → PROCESSING (the chat
    starts) → COMPLETED/SUCCESS (the agent leaves); the phone's disconnect then ends
    the ticket as the customer's, and the console's queue is empty again."""
    async with desk(server, {"gms": gms(), "apns": apns.app_config()}) as d:
        token = secrets.token_hex(32)
        sid = await d.start(
            _media_type="chat",
            _wait_for_agent=True,
            _device_os="ios",
            _device_notification_id=token,
            subject="Card blocked",
        )
        assert await d.state(sid) == ("QUEUED", "")
        queued = (await d.queue())[sid]
        assert queued["position"] == 1 and queued["customer_number"] == "+15145550123"
        assert queued["user_data"]["first_name"] == "Ana" and queued["ticket_id"] is None

        assert (await d.agent(sid, "notify")).status_code == 303
        assert await d.state(sid) == ("ROUTING", "")
        await eventually(lambda: apns.for_token(token), what="the push at the APNs stand-in")
        delivered = await eventually(
            lambda: _push_state(d, sid, "delivered"), what="the push recorded as delivered"
        )
        assert delivered["state"] == "ROUTING" and delivered["push_error"] is None

        # The phone follows the push; reading a dialog changes nothing.
        dialog = await d.phone.get(f"/genesys/1/service/{sid}/get-dialog-start-chat")
        assert dialog.json()["_action"] == "StartChat"
        assert await d.state(sid) == ("ROUTING", "")

        created = await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat", data={})
        assert created.json()["chatIxnState"] == "TRANSCRIPT"
        assert await d.state(sid) == ("PROCESSING", "")
        ticket_id = (await d.queue())[sid]["ticket_id"]
        assert isinstance(ticket_id, int)

        for action in ("join", "leave"):
            done = await d.console.post(f"/console/tickets/{ticket_id}/gms/{action}")
            assert done.status_code == 303
        assert await d.state(sid) == ("COMPLETED", "SUCCESS")
        assert sid not in await d.queue()

        left = await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat/disconnect")
        assert left.json()["chatIxnState"] == "DISCONNECTED"
        assert await d.state(sid) == ("COMPLETED", "SUCCESS"), "a finished callback stays so"
        page = await d.console.get(f"/console/tickets/{ticket_id}")
        assert 'id="gms-ended"' in page.text and "The customer ended the chat." in page.text
        queue_page = await d.console.get("/console/callbacks")
        assert "No callbacks waiting." in queue_page.text
        print(f"states read: 7, queue after: {len(await d.queue())}")


async def _push_state(d: Desk, sid: str, wanted: str) -> dict[str, Any] | None:
    entry = (await d.queue()).get(sid)
    return entry if entry and entry["push_state"] == wanted else None


async def test_chat_now_completes_abandoned_when_the_customer_leaves_alone(
    server: TestServer,
) -> None:
    """A chat-now callback (§3.7 "Chat now") answers StartChat: ROUTING at once, then
    PROCESSING when the chat opens, then COMPLETED/ABANDONED when the customer leaves
    before any agent joined."""
    async with desk(server, {"gms": gms()}) as d:
        sid = await d.start(_media_type="chat")
        assert await d.state(sid) == ("ROUTING", "")
        assert (await d.queue())[sid]["position"] == 0, "nobody needs to notify it"
        await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat", data={})
        assert await d.state(sid) == ("PROCESSING", "")
        await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat/disconnect")
        assert await d.state(sid) == ("COMPLETED", "ABANDONED")
        assert not await d.queue()


async def test_cancel_and_reschedule_from_the_phone_and_from_the_console(
    server: TestServer,
) -> None:
    """§3.2 cancel (phone) → COMPLETED/CANCELLED; §3.3 reschedule (phone) → SCHEDULED at
    the new time; the console's reschedule, cancel and done do the same for agents."""
    async with desk(server, {"gms": gms()}) as d:
        by_phone = await d.start()
        assert await d.state(by_phone) == ("QUEUED", "")
        later = iso_in(3600)
        moved = await d.phone.put(f"{START}/{by_phone}", json={"_new_desired_time": later})
        assert moved.status_code == 200
        assert await d.state(by_phone) == ("SCHEDULED", "")
        record = (await d.phone.get(f"{START}/{by_phone}")).json()
        assert record["_desired_time"] == later
        assert (await d.phone.delete(f"{START}/{by_phone}")).status_code == 200
        assert await d.state(by_phone) == ("COMPLETED", "CANCELLED")
        again = await d.phone.put(f"{START}/{by_phone}", json={"_new_desired_time": later})
        assert again.status_code == 200
        assert await d.state(by_phone) == ("COMPLETED", "CANCELLED"), "finished stays finished"

        by_agent = await d.start()
        when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        assert (await d.agent(by_agent, "reschedule", when=when)).status_code == 303
        assert await d.state(by_agent) == ("SCHEDULED", "")
        assert (await d.queue())[by_agent]["desired_time"] == when + ":00Z"
        bad = await d.agent(by_agent, "reschedule", when="next tuesday")
        assert bad.status_code == 400 and "ISO-8601" in bad.json()["error"]
        assert (await d.agent(by_agent, "cancel")).status_code == 303
        assert await d.state(by_agent) == ("COMPLETED", "CANCELLED")

        handled = await d.start()
        assert (await d.agent(handled, "done")).status_code == 303
        assert await d.state(handled) == ("COMPLETED", "SUCCESS")
        assert (await d.agent(handled, "notify")).status_code == 404, "nothing to notify"
        assert not await d.queue()


async def test_callbacks_expire_when_the_customer_never_comes(server: TestServer) -> None:
    """The desired time plus the app's ``gms.expire_after_s`` passes: COMPLETED/EXPIRED,
    both for one waiting in the queue and for a scheduled one that was pushed."""
    async with desk(server, {"gms": gms(expire_after_s=1)}) as d:
        waiting = await d.start()
        scheduled = await d.start(_desired_time=iso_in(1.5))
        assert await d.state(scheduled) == ("SCHEDULED", "")

        async def came() -> bool:
            return (await d.state(scheduled))[0] != "SCHEDULED"

        await eventually(came, what="the scheduled callback's time to come")
        for sid in (waiting, scheduled):
            await eventually(lambda sid=sid: _is(d, sid, ("COMPLETED", "EXPIRED")), what=sid)
        assert not await d.queue()


async def _is(d: Desk, sid: str, wanted: tuple[str, str]) -> bool:
    return await d.state(sid) == wanted


async def test_a_dead_push_puts_the_callback_back_in_the_queue(server: TestServer) -> None:
    """An app without APNs credentials: the outbox declares the push dead at once; the
    callback goes back from ROUTING to QUEUED with the reason, for the agent to see."""
    async with desk(server, {"gms": gms()}) as d:
        sid = await d.start(
            _media_type="chat",
            _wait_for_agent=True,
            _device_os="ios",
            _device_notification_id=secrets.token_hex(32),
        )
        assert (await d.agent(sid, "notify")).status_code == 303
        dead = await eventually(lambda: _push_state(d, sid, "dead"), what="the dead push")
        assert dead["state"] == "QUEUED" and "APNs" in dead["push_error"]
        assert await d.state(sid) == ("QUEUED", "")
        page = await d.console.get("/console/callbacks")
        assert "Push failed: APNs not configured" in page.text
        # Without a push token there is nothing to send: ROUTING, and the console says so.
        silent = await d.start()
        await d.agent(silent, "notify")
        assert await d.state(silent) == ("ROUTING", "")
        assert (await d.queue())[silent]["push_error"] == "the phone gave no push token"
        print(f"pushes: 1 sent, 1 dead; callbacks back in the queue: {dead['state'] == 'QUEUED'}")


async def test_deleting_a_service_ends_its_running_chat(server: TestServer) -> None:
    """§2.2/§3.2 DELETE while the chat runs: COMPLETED/CANCELLED, and the chat ends with
    it (the phone's next refresh says ``chatEnded``, the agent's ticket says the
    customer ended it), instead of a chat that runs on for a deleted service."""
    async with desk(server, {"gms": gms()}) as d:
        sid = await d.start(_media_type="chat")
        opened = await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat", data={})
        assert opened.status_code == 200 and opened.json()["chatIxnState"] == "TRANSCRIPT"
        assert await d.state(sid) == ("PROCESSING", "")
        assert (await d.phone.delete(f"/genesys/1/service/{sid}")).status_code == 200
        assert await d.state(sid) == ("COMPLETED", "CANCELLED")
        refreshed = await d.phone.post(f"/genesys/1/service/{sid}/ixn/chat/refresh", data={})
        print(f"refresh after DELETE: {refreshed.status_code} {refreshed.text[:300]}")
        assert refreshed.json()["chatIxnState"] != "TRANSCRIPT", refreshed.text
        left = [e for e in refreshed.json()["transcriptToShow"] if e[0] == "Notice.Left"]
        assert left, "the transcript says the customer left"
        assert not await d.queue()
