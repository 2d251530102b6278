"""The §3.7 callback scenarios end to end, pushes through the local APNs stand-in.

The phone is httpx; pushes arrive at a local APNs (HTTP/2, TLS, ES256 tokens).
Time-driven scenarios move the server's clock (``manual_clock``) and run the
callback scheduler's step instead of sleeping: a scheduled callback is pushed
when its ``_desired_time`` comes, a snoozed one five minutes after the snooze.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from tests.conftest import TestServer
from tests.helpers import manual_clock
from tests.integration.delivery_fakes import FakeAPNs, eventually
from tests.integration.test_gms_seed_flow import gms_app
from tidings.domain.models import Actor
from tidings.gateways.gms.protocol import iso_ms

BASE = "/genesys/1/service"
START = f"{BASE}/callback/callback-for-mobile"


def device(token: str) -> dict[str, str]:
    return {
        "_device_os": "ios",
        "_device_notification_id": token,
        "_apns_environment": "development",
    }


async def pushed(apns: FakeAPNs, token: str, count: int) -> dict[str, Any]:
    """The ``count``-th push to ``token``: its ``{_id, _action}`` message."""
    pushes = await eventually(
        lambda: (p := apns.for_token(token)) and len(p) >= count and p,
        what=f"push #{count}",
    )
    return json.loads(pushes[count - 1]["payload"]["message"])


async def test_scheduled_callback_pushes_when_its_time_comes(
    server: TestServer, apns: FakeAPNs
) -> None:
    app = await gms_app(server, apns)
    token = secrets.token_hex(32)
    with manual_clock(server) as clock:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"gms_user": "sched", "apikey": app.auth_key}
        ) as phone:
            booked = iso_ms(clock.now_ms() + 3_600_000)
            started = (
                await phone.post(
                    START,
                    data={
                        "_customer_number": "+15145550123",
                        "_call_direction": "USERTERMINATED",
                        "_desired_time": booked,
                        **device(token),
                    },
                )
            ).json()
            sid = started["_id"]
            assert started["_action"] == "ConfirmationDialog"
            assert started["_callback_state"] == "SCHEDULED"
            assert started["_desired_time"] == booked
            assert started["_text"] == f"Your call is booked for {booked}"

            # Not yet: the scheduler step finds nothing due for this callback.
            clock.advance(3_599)
            await server.core.callbacks.run_due()
            record = (await phone.get(f"{START}/{sid}")).json()
            assert record["_callback_state"] == "SCHEDULED"
            assert apns.for_token(token) == []

            # The booked time arrives: one push, state ROUTING.
            clock.advance(2)
            await server.core.callbacks.run_due()
            message = await pushed(apns, token, 1)
            assert message == {
                "_id": sid,
                "_action": "get-dialog-user-confirmation-provide_code-false",
            }
            push = apns.for_token(token)[0]
            assert push["payload"]["aps"]["alert"] == "An agent is available right now"
            record = (await phone.get(f"{START}/{sid}")).json()
            assert record["_callback_state"] == "ROUTING"

            # The phone follows the push: menu, then "connect" → the centre calls.
            menu = (await phone.post(f"{BASE}/{sid}/{message['_action']}")).json()
            assert menu["_action"] == "DisplayMenu"
            connect = menu["_content"][0]["_group_content"][0]["_user_action_url"]
            assert connect.endswith(f"/{sid}/connect")
            body = (await phone.post(connect)).json()
            assert body["_action"] == "ConfirmationDialog"
            assert body["_text"] == "You will receive the call shortly"
            record = (await phone.get(f"{START}/{sid}")).json()
            assert record["_callback_state"] == "PROCESSING"


async def test_snooze_pushes_again_five_minutes_later(server: TestServer, apns: FakeAPNs) -> None:
    app = await gms_app(server, apns)
    _, agent, _ = await server.new_user(app, role="agent")
    actor = Actor(app_id=app.id, user_id=agent.id, role="agent")
    token = secrets.token_hex(32)
    with manual_clock(server) as clock:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"gms_user": "snoozer", "apikey": app.auth_key}
        ) as phone:
            started = (
                await phone.post(
                    START,
                    data={
                        "_customer_number": "+15145550123",
                        "_call_direction": "USERORIGINATED",
                        "_wait_for_agent": "true",
                        "_provide_code": "true",
                        **device(token),
                    },
                )
            ).json()
            sid = started["_id"]
            assert started["_action"] == "ConfirmationDialog"
            assert started["_text"] == "We will notify you when agent is available"

            await server.core.callbacks.notify(actor, sid)
            first = await pushed(apns, token, 1)
            assert first == {
                "_id": sid,
                "_action": "get-dialog-user-confirmation-provide_code-true",
            }
            menu = (await phone.get(f"{BASE}/{sid}/{first['_action']}")).json()
            snooze = menu["_content"][0]["_group_content"][1]["_user_action_url"]
            assert snooze.endswith(f"/{sid}/snooze")
            later = (await phone.post(f"{BASE}/{sid}/snooze")).json()
            assert later["_action"] == "ConfirmationDialog"
            assert (await phone.get(f"{START}/{sid}")).json()["_callback_state"] == "SCHEDULED"

            clock.advance(299)
            await server.core.callbacks.run_due()
            assert len(apns.for_token(token)) == 1, "not before five minutes"
            clock.advance(2)
            await server.core.callbacks.run_due()
            second = await pushed(apns, token, 2)
            assert second == first

            # Now the customer dials: DialNumber with the access code.
            dial = (await phone.post(f"{BASE}/{sid}/connect")).json()
            assert dial["_action"] == "DialNumber"
            assert dial["_tel_url"].startswith("tel:+")
            assert dial["_access_code"] == sid[-4:]
            assert (await phone.get(f"{START}/{sid}")).json()["_callback_state"] == "PROCESSING"


async def test_voice_now_scenarios_answer_without_a_push(
    server: TestServer, apns: FakeAPNs
) -> None:
    app = await gms_app(server, apns)
    token = secrets.token_hex(32)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"gms_user": "now", "apikey": app.auth_key}
    ) as phone:
        dials = (
            await phone.post(
                START,
                data={
                    "_customer_number": "+15145550123",
                    "_call_direction": "USERORIGINATED",
                    "_access_number": "+18005550100",
                    **device(token),
                },
            )
        ).json()
        assert dials["_action"] == "DialNumber"
        assert dials["_tel_url"] == "tel:+18005550100"
        assert "_access_code" not in dials
        called = (
            await phone.post(
                START,
                data={
                    "_customer_number": "+15145550123",
                    "_call_direction": "USERTERMINATED",
                    **device(token),
                },
            )
        ).json()
        assert called["_action"] == "ConfirmationDialog"
        assert called["_text"] == "You will receive the call shortly"
        await server.core.callbacks.run_due()
        assert apns.for_token(token) == []
